"""Read the worker pools from a compiled bundle: a directory, or the config server's URL.

`reconciler/pools.json`, verified by `converge.reconciler.core.bundlefile`. Anything else raises
`BundleError` and the scaler keeps the pools it has.
"""

from __future__ import annotations

from converge.reconciler.core import bundlefile
from converge.reconciler.core.bundlefile import BundleError
from converge.reconciler.scaler import config

POOLS = "reconciler/pools.json"

__all__ = ["POOLS", "BundleError", "BundleSource"]


class BundleSource(bundlefile.Source[config.Pool]):
    """Loads the pools of the bundle at `location` (a directory or an `http(s)://` URL)."""

    def __init__(self, location: str, *, token: str | None = None,
                 timeout: float = 10.0) -> None:
        super().__init__(location, POOLS, config.parse, config.ConfigError, token=token,
                         timeout=timeout)
