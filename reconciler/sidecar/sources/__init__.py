"""Where bundles come from, behind one `BundleSource` protocol: the config server, a Git
repository compiled here, or a directory holding a compiled bundle."""

from __future__ import annotations

from converge.reconciler.sidecar.sources.base import BundleSource, SourceError, SourceSpec, parse

__all__ = ["BundleSource", "SourceError", "SourceSpec", "parse"]
