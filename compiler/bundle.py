"""The bundle: rendered files plus a manifest that proves what they are.

Pure: takes the rendered text, returns the exact bytes of every file including
`manifest.json`. Hashes are SHA-256 of the exact bytes; each target's hash and the
bundle hash are taken over the sorted (path, hash) pairs, so they are the same on every
machine for the same specs. Nothing time-based or machine-specific enters a hashed file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from converge.compiler.model import Model
from converge.compiler.render import secrets

MANIFEST = "manifest.json"
SCHEMA_VERSION = "converge/manifest/v1"
TARGETS = ("prometheus", "vmalert", "alertmanager", "reconciler", "kubernetes")


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """Where the specs came from, when known: the Git commit and whether the tree was dirty."""

    commit: str | None
    dirty: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Bundle:
    files: dict[str, bytes]
    """Every file by bundle path, `manifest.json` included."""
    manifest: dict[str, Any]

    @property
    def hash(self) -> str:
        return str(self.manifest["bundleHash"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pairs_hash(pairs: Mapping[str, str]) -> str:
    """SHA-256 over sorted `path NUL hash LF` lines."""
    text = "".join(f"{path}\0{digest}\n" for path, digest in sorted(pairs.items()))
    return sha256(text.encode("utf-8"))


def target_of(path: str) -> str:
    return path.split("/", 1)[0]


def build(rendered: Mapping[str, str], model: Model, *, version: str,
          source: Source | None) -> Bundle:
    """Encode the rendered files and add the manifest."""
    files = {path: text.encode("utf-8") for path, text in sorted(rendered.items())}
    digests = {path: sha256(data) for path, data in files.items()}
    targets: dict[str, Any] = {}
    for target in TARGETS:
        own = {p: d for p, d in digests.items() if target_of(p) == target}
        if own:
            targets[target] = {"hash": pairs_hash(own), "files": len(own),
                               **_counts(model, target, own)}
    manifest = {
        "schemaVersion": SCHEMA_VERSION,
        "compiler": {"name": "converge", "version": version},
        "source": dataclasses.asdict(source) if source else None,
        "bundleHash": pairs_hash(digests),
        "targets": targets,
        "files": [_entry(path, data, digests[path], rendered[path], model)
                  for path, data in files.items()],
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return Bundle(files, manifest)


def _entry(path: str, data: bytes, digest: str, text: str, model: Model) -> dict[str, Any]:
    """A file's manifest entry; `secrets` lists where a host resolves a secret in it."""
    entry: dict[str, Any] = {"path": path, "target": target_of(path), "size": len(data),
                             "sha256": digest}
    found = secrets.positions(path, text, model)
    if found:
        entry["secrets"] = found
    return entry


def manifest_without_source(data: bytes) -> bytes:
    """A manifest's bytes with `source` blanked, for comparing bundles across commits."""
    try:
        manifest = json.loads(data)
    except ValueError:
        return data
    if not isinstance(manifest, dict):
        return data
    manifest["source"] = None
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")


def without_source(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files with the manifest's `source` blanked (see `manifest_without_source`)."""
    return {path: manifest_without_source(data) if path == MANIFEST else data
            for path, data in files.items()}


def _counts(model: Model, target: str, own: Mapping[str, str]) -> dict[str, int]:
    if target in ("prometheus", "vmalert"):
        groups = [g for g in model.groups if target in g.targets
                  and any(target in r.targets for r in g.rules)]
        rules = [r for g in groups for r in g.rules if target in r.targets]
        return {"groups": len(groups), "rules": len(rules),
                "alerts": sum(r.kind == "alert" for r in rules),
                "records": sum(r.kind == "record" for r in rules)}
    if target == "alertmanager":
        routes = escalating = 0
        if model.routing is not None:
            stack = [model.routing.route]
            while stack:
                route = stack.pop()
                routes += 1
                escalating += bool(route.escalation)  # a sibling route and its receiver
                stack.extend(route.routes)
        inhibits = len(model.routing.inhibit_rules) if model.routing else 0
        receivers = len(model.channels) + escalating + (
            0 if model.routing and model.routing.route.receiver else 1)
        routes += escalating
        return {"receivers": receivers, "routes": routes, "inhibitRules": inhibits}
    if target == "kubernetes":  # every object (or patch) is a file; kustomizations list them
        return {"objects": sum(not p.endswith("/kustomization.yaml") for p in own)}
    return {"pools": len(model.pools), "healingPolicies": len(model.healing),
            "channels": len(model.channels)}
