"""Compile one commit's spec files into a bundle, or into the diagnostics that stop it.

The files are already in memory (read from the commit's tree by `repository`).
The same pipeline as `converge compile`: check, render, build the manifest with the
commit as its source. With `cache_dir`, the per-file cache (`converge.compiler.cache`)
is read and written: the only I/O here.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from converge.compiler import bundle, cache, pipeline, render
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.sources import SourceFile


@dataclasses.dataclass(frozen=True, slots=True)
class CompileResult:
    """A bundle when the commit compiled; otherwise why not (`error`, `diagnostics`)."""

    bundle: bundle.Bundle | None
    diagnostics: list[dict[str, Any]]
    """Errors and warnings, as `converge check --format json` prints them."""
    error: str | None

    @property
    def ok(self) -> bool:
        return self.bundle is not None


def compile_sources(files: Sequence[SourceFile], *, commit: str, version: str,
                    prefix: str = "", cache_dir: Path | None = None) -> CompileResult:
    """Check and render `files` (the specs at `commit`) into a bundle.

    Args:
        files: the spec files, paths relative to the specs folder.
        commit: the commit they come from (the manifest's source).
        version: the compiler version for the manifest.
        prefix: the specs folder inside the repository, prepended to diagnostic paths.
        cache_dir: the per-file cache (`converge.compiler.cache`): a commit that changes
            a few files reuses the work done on the others. None: no cache.
    """
    if not files:
        where = f"{prefix}/" if prefix else "the top of the repository"
        return CompileResult(None, [], f"no spec files (*.yaml, *.yml) under {where}")
    store = cache.Store(cache_dir) if cache_dir is not None else None
    result = pipeline.check(files, cached=store.lookup(files) if store is not None else None)
    if store is not None:
        store.save(files, result.fresh)
    shown = [d for d in result.diagnostics if d.severity is not Severity.INFO]
    diagnostics = [diagnostic_json(d, prefix) for d in shown]
    if not result.ok or result.model is None:
        errors = [d for d in shown if d.severity is Severity.ERROR]
        return CompileResult(None, diagnostics, _summary(errors, prefix))
    built = bundle.build(render.render(result.model), result.model, version=version,
                         source=bundle.Source(commit, dirty=False))
    return CompileResult(built, diagnostics, None)


def diagnostic_json(diagnostic: Diagnostic, prefix: str = "") -> dict[str, Any]:
    """One diagnostic in the shape of `converge check --format json`."""
    return {"path": posixpath.join(prefix, diagnostic.path) if prefix else diagnostic.path,
            "line": diagnostic.span.line, "column": diagnostic.span.column,
            "endLine": diagnostic.span.end_line, "endColumn": diagnostic.span.end_column,
            "code": diagnostic.code, "severity": diagnostic.severity.value,
            "message": diagnostic.message, "hint": diagnostic.hint}


def _summary(errors: list[Diagnostic], prefix: str) -> str:
    if not errors:
        return "the specs do not compile"
    first = errors[0]
    path = posixpath.join(prefix, first.path) if prefix else first.path
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return (f"{len(errors)} error(s); first: {path}:{first.line}:{first.column}: "
            f"{first.code}: {first.message}{more}")
