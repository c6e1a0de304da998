"""The pure compile pipeline: sources in memory → model and diagnostics.

`check(sources)` runs load → validate → expand → check over `SourceFile`s already read
(from a directory or a Git tree), and returns every diagnostic, sorted. It does no I/O.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable

from compiler import expand, exprs, loader, parallel, validate
from compiler.checks import (
    CHECKS,
    inhibit_unknown_label,
    promql_syntax,
    route_unrouted_alert,
    template_unknown_label,
)
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


def check(sources: Iterable[SourceFile], *, worker: parallel.Worker | None = None
          ) -> CheckResult:
    """Load, validate, expand and check specs; collect every diagnostic.

    `worker`: one the caller started on the same `sources` (see `compiler.parallel`);
    by default one is started here when the repository is big enough.
    """
    was_enabled = gc.isenabled()
    gc.disable()  # many small objects, few cycles: collecting during the run only costs time
    try:
        files = list(sources)
        return _check(files, worker if worker is not None else parallel.start(files))
    finally:
        if was_enabled:
            gc.enable()


def _check(sources: list[SourceFile], worker: parallel.Worker | None) -> CheckResult:
    diagnostics: list[Diagnostic] = []
    texts: dict[str, str] = {}
    documents: list[loader.Document] = []
    try:
        own = sources[:worker.split] if worker is not None else sources
        loaded = [loader.load(source.path, source.data) for source in own]
        if worker is not None:  # in this order: the worker sends its files, then listens
            theirs = worker.loaded()
            worker.send_expressions(d for file in loaded for d in file.documents)
            loaded.extend(theirs)
        for file in loaded:
            texts[file.path] = file.text
            documents.extend(file.documents)
            diagnostics.extend(file.diagnostics)
        validated = validate.validate(documents)
        diagnostics.extend(validated.diagnostics)
        model = expand.expand(validated)
        context = Context(model, texts)
        with exprs.prefetched(worker.answers if worker is not None else dict):
            for module in _CHECK_ORDER:
                diagnostics.extend(module.check(model, context))
    finally:
        if worker is not None:
            worker.close()
    diagnostics.sort(key=Diagnostic.sort_key)
    return CheckResult(model, _dedupe(diagnostics), texts, len(sources))


_READ_PARSED_PROMQL = (promql_syntax, template_unknown_label, inhibit_unknown_label,
                       route_unrouted_alert)
_CHECK_ORDER = (*(m for m in CHECKS if m not in _READ_PARSED_PROMQL),
                *(m for m in CHECKS if m in _READ_PARSED_PROMQL))
"""The checks that read parsed PromQL run last, giving the worker (`compiler.parallel`)
the most time. The order cannot change the output: diagnostics are sorted by position,
code and message, and each code belongs to one check."""


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    unique = []
    for diagnostic in diagnostics:
        if diagnostic not in seen:
            seen.add(diagnostic)
            unique.append(diagnostic)
    return unique
