"""Bundles for the sidecar tests: compiled from small specs, or crafted from one.

`compiled(n)` gives distinct, valid bundles (n = 1, 2, …: version n has groups g1…gn and
a routing that names n); `rehashed(files)` rebuilds the manifest's hashes after a test
changed a file on purpose, so the bundle passes every hash check but not the target.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import bundles

from converge.compiler import bundle as compiler_bundle
from converge.compiler import writer


def documents(n: int, *, secret_env: str | None = None) -> list[dict[str, Any]]:
    """Specs of version `n`."""
    docs: list[dict[str, Any]] = [bundles.project(defaults={"interval": "30s"})]
    for i in range(1, n + 1):
        rules: list[dict[str, Any]] = [
            {"alert": f"G{i}Down", "expr": f'up{{job="job{i}"}} == 0', "for": "1m",
             "labels": {"severity": "critical"},
             "annotations": {"summary": f"job{i} is down"}},
            {"record": f"job{i}:up:sum", "expr": f'sum(up{{job="job{i}"}})'},
        ]
        rules += [{"alert": f"G{i}Extra{k}", "expr": f"vector({k}) > {n + 100}",
                   "labels": {"severity": "warning"}, "annotations": {"summary": "extra"}}
                  for k in range(i % 3)]
        # a short interval: vmalert takes a changed group only after the group's start
        # delay, up to one interval
        docs.append(bundles.document("RuleGroup", f"g{i}", {"interval": "2s", "rules": rules}))
    channel: dict[str, Any] = {"type": "webhook", "url": f"http://127.0.0.1:9/hook/{n}"}
    if secret_env:
        channel = {"type": "webhook", "urlSecret": {"env": secret_env}}
    docs.append(bundles.document("Channel", "ops", channel))
    docs.append(bundles.document("Routing", "main", {
        "route": {"receiver": "ops", "groupBy": ["alertname"], "repeatInterval": f"{n}h"}}))
    return docs


def compiled(n: int, *, secret_env: str | None = None) -> dict[str, bytes]:
    """The files of bundle version `n` (manifest included), as `converge compile` writes."""
    return dict(bundles.build_docs(documents(n, secret_env=secret_env)).files)


def write(files: Mapping[str, bytes], out: Path) -> None:
    """Replace the bundle directory `out` atomically (as `converge compile -o` does)."""
    writer.write(files, out)


def target_hash(files: Mapping[str, bytes], target: str) -> str:
    manifest = json.loads(files[compiler_bundle.MANIFEST])
    return str(manifest["targets"][target]["hash"])


def rehashed(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """`files` with a manifest whose sizes and hashes match the files as they are now."""
    manifest = json.loads(files[compiler_bundle.MANIFEST])
    digests = {path: compiler_bundle.sha256(data) for path, data in files.items()
               if path != compiler_bundle.MANIFEST}
    manifest["files"] = [{"path": p, "target": compiler_bundle.target_of(p),
                          "size": len(files[p]), "sha256": d} for p, d in sorted(digests.items())]
    for target, info in manifest["targets"].items():
        info["hash"] = compiler_bundle.pairs_hash(
            {p: d for p, d in digests.items() if compiler_bundle.target_of(p) == target})
    manifest["bundleHash"] = compiler_bundle.pairs_hash(digests)
    out = dict(files)
    out[compiler_bundle.MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True)
                                     + "\n").encode()
    return out
