"""`converge sidecar`: next to Prometheus, Alertmanager or vmalert, keep the target on the
compiled bundle — fetch and verify, check, resolve secrets, publish atomically, reload,
verify what was loaded, and roll back to the last good bundle on any failure.

Modules: `bundles` (verify what a source offers), `secrets` (placeholders), `publish`
(versioned sets and the DEST symlink), `decide` (the pure decisions), `sync` (one sync),
`targets` (one adapter per target), `sources` (server, Git, directory), `expect` (what a
target should report), `metrics`, `daemon` (the wiring) and `cli`.
"""

from __future__ import annotations

__all__: list[str] = []
