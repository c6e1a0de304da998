"""The config server (`converge serve`): compiles a Git repository of specs on an interval
and on push, serves each target's bundle with its hash as ETag, and keeps the fleet view
of what every sidecar runs. See docs/server.md and docs/openapi.yaml.

Names are loaded on first use, so `converge --help` does not import the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from converge.reconciler.server.daemon import ConfigServer, Settings

__all__ = ["ConfigServer", "Settings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("converge.reconciler.server.daemon"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
