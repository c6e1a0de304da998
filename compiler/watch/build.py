"""One recompile of `converge watch`: check, and write the bundle only when it is good.

`plan` decides (pure); `rebuild` reads the specs, renders, and writes through the same
atomic writer as `converge compile`. A spec saved half-way (broken YAML, a missing
field) prints its diagnostics and leaves the last good bundle exactly as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from converge.compiler import bundle, cache, gitinfo, pipeline, render, sources, writer
from converge.compiler.formats import human
from converge.compiler.formats.report import Report


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    write: bool
    """Replace the output with the new bundle."""
    message: str


def plan(built: bundle.Bundle | None, current: Mapping[str, bytes], *, output: str) -> Plan:
    """What to do with a compile's bundle (None: the specs have errors) given what the
    output directory holds now."""
    if built is None:
        kept = current.get(bundle.MANIFEST)
        where = f"{output} keeps the last good bundle" if kept else f"nothing written to {output}"
        return Plan(False, f"not compiled: fix the errors above; {where}")
    changed = [path for path in set(built.files) | set(current)
               if path != bundle.MANIFEST and built.files.get(path) != current.get(path)]
    count = f"{len(changed)} file changed" if len(changed) == 1 else f"{len(changed)} files changed"
    return Plan(built.files != dict(current), f"compiled: bundle {built.hash[:12]} ({count})")


def rebuild(root: Path, output: Path, *, color: bool, store: cache.Store | None = None) -> str:
    """Compile the specs under `root` into `output` when they are good; the text to show
    (diagnostics, then one line saying what happened). `store`: the per-file cache to
    read and fill (`compiler.cache`)."""
    try:
        files = [f for f in sources.read_directory(root)
                 if not (root / f.path).absolute().is_relative_to(output.absolute())]
    except sources.SourceError as error:
        return f"converge: error: {error}; {output} is unchanged\n"
    if not files:
        return f"converge: no spec files (*.yaml, *.yml) under {root}; {output} is unchanged\n"
    git = gitinfo.start(root)
    cached = store.lookup(files) if store is not None else None
    result = pipeline.check(files, cached=cached)
    if store is not None:
        store.save(files, result.fresh)
    shown = root.as_posix().rstrip("/") or "/"
    report = ""
    if result.diagnostics:
        report = human.render(Report(result.diagnostics, result.texts, shown, result.files),
                              color=color)
    built = None
    if result.ok and result.model is not None:
        built = bundle.build(render.render(result.model), result.model, version=_version(),
                             source=git.result())
    else:
        git.close()
    decision = plan(built, writer.read(output), output=output.as_posix())
    if decision.write and built is not None:
        try:
            writer.write(built.files, output)
        except writer.WriteError as error:
            return f"{report}converge: error: {error}\n"
    return f"{report}{decision.message}\n"


def _version() -> str:
    try:
        return metadata.version("converge-gitops")
    except metadata.PackageNotFoundError:
        return "0.0.0"
