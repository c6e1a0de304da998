"""`converge check --prometheus URL`: what only a running Prometheus knows.

The I/O shell of live mode: it asks the server, once each, for every metric name it has
series for (`/api/v1/label/__name__/values`), each metric's type from its metadata
(`/api/v1/metadata`) and its targets' scrape intervals (`/api/v1/targets`), and keeps the
answers in `livefacts.Facts`, which the `live/*` checks read (`livefacts.current()`).
"""

from __future__ import annotations

from typing import Any

import httpx

from converge.compiler.livefacts import Facts
from converge.specs.common import parse_duration


class LiveError(Exception):
    """The server could not be asked (unreachable, not Prometheus, an error answer)."""


def fetch(url: str, *, timeout: float = 10.0) -> Facts:
    """Ask the Prometheus at `url`.

    Raises:
        LiveError: it could not be asked, or did not answer as Prometheus does.
    """
    base = url.rstrip("/")
    with httpx.Client(base_url=base, timeout=timeout) as client:
        names = _data(client, "/api/v1/label/__name__/values")
        metadata = _data(client, "/api/v1/metadata")
        targets = _data(client, "/api/v1/targets", params={"state": "active"})
    types = {name: entries[0].get("type", "") for name, entries in metadata.items() if entries}
    intervals: dict[str, float] = {}
    for target in targets.get("activeTargets", []):
        job = target.get("labels", {}).get("job", "")
        text = target.get("scrapeInterval")
        if text:
            seconds = parse_duration(text)
            intervals[job] = min(seconds, intervals.get(job, seconds))
    return Facts(base, frozenset(names), types, intervals)


def _data(client: httpx.Client, path: str, params: dict[str, str] | None = None) -> Any:
    try:
        response = client.get(path, params=params)
        response.raise_for_status()
        body = response.json()
    except httpx.HTTPError as error:
        raise LiveError(f"{client.base_url}{path}: {error}") from None
    except ValueError:
        raise LiveError(f"{client.base_url}{path}: not JSON: is this Prometheus?") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise LiveError(f"{client.base_url}{path}: not a Prometheus API answer")
    data = body.get("data")
    if not isinstance(data, dict | list):
        raise LiveError(f"{client.base_url}{path}: no data in the answer")
    return data
