"""Build bundles in memory and lay spec trees out on disk, for the render, bundle and
compile tests.

`build` runs the same stages as `converge compile` (check → render → bundle) on sources
already in memory, with a fixed compiler version and no source info, so what it returns
is byte for byte what `converge compile` writes outside Git (manifest included, once the
version is the installed one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from converge.compiler import bundle, pipeline, render
from converge.compiler.model import Model
from converge.compiler.sources import SourceFile

VERSION = "0.0.0+test"
"""The compiler version the in-memory bundles claim: nothing volatile in snapshots."""


def spec_text(docs: list[dict[str, Any]]) -> str:
    """Documents as one multi-document YAML file (non-ASCII escaped, so any string survives)."""
    text: str = yaml.safe_dump_all(docs, sort_keys=False)
    return text


def checked(sources: list[SourceFile]) -> pipeline.CheckResult:
    """Run the pipeline and insist there is not a single diagnostic, not even a warning."""
    result = pipeline.check(sources)
    assert result.model is not None
    assert result.diagnostics == [], "\n".join(
        f"{d.path}:{d.line}:{d.column}: {d.code}: {d.message}" for d in result.diagnostics)
    return result


def model_of(sources: list[SourceFile]) -> Model:
    model = checked(sources).model
    assert model is not None
    return model


def build(sources: list[SourceFile], *, version: str = VERSION,
          source: bundle.Source | None = None) -> bundle.Bundle:
    """The bundle `converge compile` would write for `sources` (which must be clean)."""
    model = model_of(sources)
    return bundle.build(render.render(model), model, version=version, source=source)


def build_docs(docs: list[dict[str, Any]], path: str = "specs.yaml") -> bundle.Bundle:
    return build([SourceFile(path, spec_text(docs).encode("utf-8"))])


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> None:
    """Write `files` (relative path → text or bytes) under `root`."""
    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by '/'-separated relative path, hidden ones included."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def project(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "demo"},
            "spec": spec}


def document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "converge/v1", "kind": kind, "metadata": {"name": name},
            "spec": spec}
