"""The pure compile pipeline: sources in memory → model and diagnostics.

`check(sources)` runs load → validate → expand → check over `SourceFile`s already read
(from a directory or a Git tree), and returns every diagnostic, sorted. It does no I/O.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable

from compiler import expand, loader, validate
from compiler.checks import CHECKS
from compiler.checks.context import Context
from compiler.diagnostics import Diagnostic, Severity
from compiler.model import Model
from compiler.sources import SourceFile


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult:
    model: Model | None
    diagnostics: list[Diagnostic]
    texts: dict[str, str]
    """Each file's text, for showing source lines in messages."""
    files: int

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def check(sources: Iterable[SourceFile]) -> CheckResult:
    """Load, validate, expand and check specs; collect every diagnostic."""
    was_enabled = gc.isenabled()
    gc.disable()  # many small objects, few cycles: collecting during the run only costs time
    try:
        return _check(list(sources))
    finally:
        if was_enabled:
            gc.enable()


def _check(sources: list[SourceFile]) -> CheckResult:
    diagnostics: list[Diagnostic] = []
    texts: dict[str, str] = {}
    documents: list[loader.Document] = []
    for source in sources:
        loaded = loader.load(source.path, source.data)
        texts[source.path] = loaded.text
        documents.extend(loaded.documents)
        diagnostics.extend(loaded.diagnostics)
    validated = validate.validate(documents)
    diagnostics.extend(validated.diagnostics)
    model = expand.expand(validated)
    context = Context(model, texts)
    for module in CHECKS:
        diagnostics.extend(module.check(model, context))
    diagnostics.sort(key=Diagnostic.sort_key)
    return CheckResult(model, _dedupe(diagnostics), texts, len(sources))


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    unique = []
    for diagnostic in diagnostics:
        if diagnostic not in seen:
            seen.add(diagnostic)
            unique.append(diagnostic)
    return unique
