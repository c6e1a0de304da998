"""Read the policies from a compiled bundle: a directory, or the config server's URL.

`reconciler/healing.json`, verified against the manifest (a directory) or the server's
`X-Converge-Sha256` (a URL) by `converge.reconciler.core.bundlefile`. Anything else raises
`BundleError` and the healer keeps the policies it has.
"""

from __future__ import annotations

from converge.reconciler.core import bundlefile
from converge.reconciler.core.bundlefile import BundleError
from converge.reconciler.healer import config

HEALING = "reconciler/healing.json"
SERVER_PATH = "/api/v1/bundles/reconciler/files/healing.json"

__all__ = ["HEALING", "BundleError", "BundleSource"]


class BundleSource(bundlefile.Source[config.Policy]):
    """Loads the policies of the bundle at `location` (a directory or an `http(s)://` URL)."""

    def __init__(self, location: str, *, token: str | None = None,
                 timeout: float = 10.0) -> None:
        super().__init__(location, HEALING, config.parse, config.ConfigError, token=token,
                         timeout=timeout)
