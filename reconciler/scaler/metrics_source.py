"""Where the load comes from: a `MetricsSource` Protocol and its Prometheus HTTP API adapter.

`PrometheusSource.query` runs one instant query (`GET /api/v1/query`) and returns a
`Reading`: a value, an error (unreachable, HTTP error, bad query, timeout), or neither (an
empty vector: "no data", which holds the count unless the metric says `emptyAsZero`). A
vector of several series reads as their sum; `sum(...)` says so explicitly. `query_all`
runs a pass's queries in parallel so fifty pools cost one round trip of wall time.
"""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from converge.reconciler.scaler.policy import Reading

__all__ = ["MetricsSource", "PrometheusSource", "parse_result"]


class MetricsSource(Protocol):
    def query_all(self, queries: Sequence[str]) -> list[Reading]:
        """One reading per query, in order; never raises."""


def parse_result(document: Any) -> Reading:
    """The reading of a `/api/v1/query` response body. Pure."""
    if not isinstance(document, dict) or document.get("status") != "success":
        error = document.get("error") if isinstance(document, dict) else None
        return Reading(error=f"query failed: {error or 'not a Prometheus response'}")
    data = document.get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    try:
        if kind == "scalar":
            return Reading(value=float(result[1]))
        if kind == "vector":
            if not result:
                return Reading()
            return Reading(value=math.fsum(float(sample["value"][1]) for sample in result))
    except (TypeError, ValueError, KeyError, IndexError):
        pass
    return Reading(error=f"unexpected result type {kind!r}")


class PrometheusSource:
    """Instant queries against Prometheus at `base_url` (or anything with its HTTP API).

    Args:
        base_url: e.g. `http://127.0.0.1:9090`.
        timeout: seconds for one query.
        workers: queries run in parallel on this many threads.
    """

    def __init__(self, base_url: str, *, timeout: float = 5.0, workers: int = 16) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/query"
        self.timeout = timeout
        self.client = httpx.Client(timeout=timeout,
                                   limits=httpx.Limits(max_connections=workers))
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "scaler-query")

    def query(self, expr: str) -> Reading:
        try:
            response = self.client.get(self.url, params={"query": expr,
                                                         "timeout": f"{self.timeout:g}s"})
        except httpx.HTTPError as error:
            return Reading(error=f"{self.url}: {type(error).__name__}: {error}".rstrip(": "))
        try:
            document = response.json()
        except ValueError:
            return Reading(error=f"{self.url}: HTTP {response.status_code}, not JSON")
        reading = parse_result(document)
        if reading.error is None and response.status_code != 200:
            return Reading(error=f"{self.url}: HTTP {response.status_code}")
        return reading

    def query_all(self, queries: Sequence[str]) -> list[Reading]:
        return list(self._pool.map(self.query, queries))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
