"""Read the worker pools from a compiled bundle: a directory, or the config server's URL.

`reconciler/pools.json`, verified by `reconciler.core.bundlefile`. Anything else raises
`BundleError` and the scaler keeps the pools it has.
"""

from __future__ import annotations

from reconciler.core import bundlefile
from reconciler.core.bundlefile import BundleError
from reconciler.scaler import config

POOLS = "reconciler/pools.json"

__all__ = ["POOLS", "BundleError", "BundleSource"]


class BundleSource:
    """Loads pools from `location` (a directory or an `http(s)://` URL)."""

    def __init__(self, location: str, *, token: str | None = None,
                 timeout: float = 10.0) -> None:
        self.location = location
        self._token = token
        self._timeout = timeout

    def load(self) -> tuple[config.Pool, ...]:
        """The bundle's pools.

        Raises:
            BundleError: unreadable, unverifiable or invalid.
        """
        data = bundlefile.read(self.location, POOLS, token=self._token, timeout=self._timeout)
        try:
            return config.parse(data)
        except config.ConfigError as error:
            raise BundleError(str(error)) from None
