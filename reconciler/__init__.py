"""The reconciler: the config server and the daemons that converge the running world
toward a compiled bundle, and the runtime they share (`converge.reconciler.core`).

`reconciler` imports `specs` and reads bundles through `converge.compiler.bundle`; the compiler
never imports it.
"""

from __future__ import annotations

__all__: list[str] = []
