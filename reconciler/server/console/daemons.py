"""Reading the other daemons' `/status` for the console: concurrent, async, short timeout.

A daemon that is down, slow or answers garbage is reported as unavailable with the
reason; it never holds up the page for longer than the timeout. Every string of a
`/status` document passes through `redact` before a page shows it: a daemon that let a
credential slip into an error does not get it onto the console too.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

import httpx

from converge.reconciler.core import redact

TIMEOUT = 2.0
"""Seconds the console waits for one daemon's `/status`."""


@dataclasses.dataclass(frozen=True, slots=True)
class Fetched:
    """One daemon's `/status` document, or why it could not be read."""

    name: str
    url: str
    payload: Any
    problem: str | None


async def fetch_all(client: httpx.AsyncClient,
                    daemons: Sequence[tuple[str, str]]) -> list[Fetched]:
    """Every daemon's `/status`, fetched at once, in the order given."""
    return list(await asyncio.gather(*(fetch(client, name, url) for name, url in daemons)))


async def fetch(client: httpx.AsyncClient, name: str, url: str) -> Fetched:
    """`GET {url}/status`; never raises for a daemon that is down or answers badly."""
    try:
        response = await client.get(url.rstrip("/") + "/status", timeout=TIMEOUT)
    except httpx.HTTPError as error:
        return Fetched(name, url, None, redact.text(
            f"unavailable: {type(error).__name__}: {error}".rstrip(": ")))
    if response.status_code != 200:
        return Fetched(name, url, None, f"unavailable: /status answered "
                                        f"{response.status_code}")
    try:
        return Fetched(name, url, redact.value(response.json()), None)
    except ValueError:
        return Fetched(name, url, None, "unavailable: /status did not answer JSON")
