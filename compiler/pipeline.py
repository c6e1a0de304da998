"""The pure compile pipeline: sources in memory → model and diagnostics.

`check(sources)` runs load → validate → expand → check over `SourceFile`s already read
(from a directory or a Git tree), and returns every diagnostic, sorted. It does no I/O.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
from collections.abc import Callable, Iterable, Mapping, Sequence

from converge.compiler import cache, expand, exprs, loader, suppress, templatecheck, validate
from converge.compiler.checks import (
    CHECKS,
    inhibit_unknown_label,
    promql_syntax,
    route_unrouted_alert,
    template_unknown_label,
)
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model
from converge.compiler.parallel import check_worker
from converge.compiler.sources import SourceFile


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult:
    model: Model | None
    diagnostics: list[Diagnostic]
    texts: dict[str, str]
    """Each file's text, for showing source lines in messages."""
    files: int
    fresh: dict[str, cache.Entry] = dataclasses.field(default_factory=dict)
    """With a cache: the work done on each file it had no entry for, by path, to store."""
    suppressed: list[Diagnostic] = dataclasses.field(default_factory=list)
    """Diagnostics a `# converge:disable` comment or the Project's `lint.disable` hides."""

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


@dataclasses.dataclass(slots=True)
class Shared:
    """What checks of several revisions in one process share (`converge diff` checks two
    that mostly hold the same files): each file is loaded once per path and bytes, each of
    its documents validated once, each rule group expanded once per project, and each
    PromQL expression analysed once. Every step depends on nothing but its input, so
    each check's result is what it is alone.

    At 10,000 rules with one file changed, the head's check (its loading, validation,
    expansion, checks and a second worker) took about 1 s; it now takes 0.2 s.
    """

    loaded: dict[tuple[str, bytes], loader.LoadedFile] = dataclasses.field(
        default_factory=dict)
    validated: dict[loader.Document, validate.Validated] = dataclasses.field(
        default_factory=dict)
    expanded: expand.GroupCache = dataclasses.field(default_factory=dict)
    answers: Callable[[], Mapping[tuple[str, str], exprs.Analysis]] = dict
    """The worker's analyses (asked for at the first question, then kept), or none."""
    worker: check_worker.Worker | None = None

    def load(self, source: SourceFile) -> loader.LoadedFile:
        """`loader.load(source.path, source.data)`, once per path and bytes."""
        key = (source.path, source.data)
        found = self.loaded.get(key)
        if found is None:
            found = self.loaded[key] = loader.load(source.path, source.data)
        return found

    def close(self) -> None:
        """Reap the worker, if any (idempotent)."""
        if self.worker is not None:
            self.worker.close()


def preload(sources: Sequence[SourceFile], worker: check_worker.Worker | None) -> Shared:
    """Load `sources` for checks to share; `worker`, started on the same `sources`, loads
    its part of them and analyses all their PromQL while the checks run."""
    shared = Shared(worker=worker)
    try:
        own = sources[:worker.split] if worker is not None else sources
        loaded = [shared.load(source) for source in own]
        if worker is not None:  # in this order: the worker sends its files, then listens
            theirs = worker.loaded()
            worker.send_expressions(d for file in loaded for d in file.documents)
            shared.loaded.update(((s.path, s.data), f)
                                 for s, f in zip(sources[worker.split:], theirs, strict=True))
            shared.answers = functools.cache(worker.answers)
    except BaseException:
        shared.close()
        raise
    return shared


def check(sources: Iterable[SourceFile], *, worker: check_worker.Worker | None = None,
          shared: Shared | None = None,
          expanded: Callable[[Model], object] | None = None,
          cached: Mapping[str, cache.Entry] | None = None) -> CheckResult:
    """Load, validate, expand and check specs; collect every diagnostic.

    `worker`: one the caller started on the same `sources` (see `parallel.check_worker`);
    by default one is started here when the repository is big enough. `shared` (from
    `preload`, which takes the worker instead): files, validations and analyses to reuse.
    `expanded` is called with the model before the checks run (whatever they find).
    `cached`: the persistent cache's entries for some of `sources`, by path (see
    `compiler.cache`; a caller's worker is then started on the others only). Those files
    are not loaded and their analyses not recomputed; the result's `fresh` holds the
    entries of the rest, for the caller to store.
    """
    was_enabled = gc.isenabled()
    gc.disable()  # many small objects, few cycles: collecting during the run only costs time
    try:
        files = list(sources)
        if shared is not None:
            assert worker is None, "a shared check takes its worker from `preload`"
            assert cached is None, "a shared check does not read the persistent cache"
            return _check(files, None, shared, expanded, None)
        if worker is None:
            worker = check_worker.start([s for s in files if s.path not in (cached or {})])
        return _check(files, worker, None, expanded, cached)
    finally:
        if was_enabled:
            gc.enable()


def _check(sources: list[SourceFile], worker: check_worker.Worker | None,
           shared: Shared | None, expanded: Callable[[Model], object] | None,
           cached: Mapping[str, cache.Entry] | None) -> CheckResult:
    diagnostics: list[Diagnostic] = []
    texts: dict[str, str] = {}
    documents: list[loader.Document] = []
    fresh: dict[str, cache.Entry] = {}
    try:
        misses = ([s for s in sources if s.path not in cached] if cached is not None
                  else sources)
        own = misses[:worker.split] if worker is not None else misses
        loaded = ([shared.load(source) for source in own] if shared is not None
                  else [loader.load(source.path, source.data) for source in own])
        if worker is not None:  # in this order: the worker sends its files, then listens
            theirs = worker.loaded()
            worker.send_expressions(d for file in loaded for d in file.documents)
            loaded.extend(theirs)
        if cached is not None:  # every file in its place, as if all were loaded here
            by_path = {file.path: file for file in loaded}
            loaded = [cached[s.path].loaded if s.path in cached else by_path[s.path]
                      for s in sources]
        for file in loaded:
            texts[file.path] = file.text
            documents.extend(file.documents)
            diagnostics.extend(file.diagnostics)
        with contextlib.ExitStack() as stack:
            recorded = stack.enter_context(exprs.recording()) if cached is not None else {}
            if cached:  # the cached files' analyses, from the start (the expander asks too)
                stack.enter_context(exprs.prefetched(functools.partial(_cached_answers,
                                                                       cached)))
                for entry in cached.values():
                    templatecheck.remember(entry.problems, entry.references)  # type: ignore[arg-type]
            validated = validate.validate(documents,
                                          shared.validated if shared is not None else None)
            diagnostics.extend(validated.diagnostics)
            model = expand.expand(validated, shared.expanded if shared is not None else None)
            if expanded is not None:
                expanded(model)
            context = Context(model, texts)
            answers = (worker.answers if worker is not None
                       else shared.answers if shared is not None else dict)
            with exprs.prefetched(answers):
                for module in _CHECK_ORDER:
                    diagnostics.extend(module.check(model, context))
                if cached is not None:
                    fresh = _fresh_entries(loaded, cached, recorded)
    finally:
        if worker is not None:
            worker.close()
    diagnostics.sort(key=Diagnostic.sort_key)
    kept, suppressed = suppress.apply(_dedupe(diagnostics), texts,
                                      disabled=model.project.lint_disable)
    return CheckResult(model, kept, texts, len(sources), fresh, suppressed)


def _cached_answers(cached: Mapping[str, cache.Entry]
                    ) -> dict[tuple[str, str], exprs.Analysis]:
    found: dict[tuple[str, str], exprs.Analysis] = {}
    for entry in cached.values():
        found.update(entry.analyses)  # type: ignore[arg-type]
    return found


def _fresh_entries(loaded: list[loader.LoadedFile], cached: Mapping[str, cache.Entry],
                   recorded: Mapping[tuple[str, str], exprs.Analysis]) -> dict[str, cache.Entry]:
    """The cache entry of every file `cached` lacked: the file and the answers this run
    gave about its expressions and templates."""
    problems, references = templatecheck.known()
    by_expression: dict[str, dict[tuple[str, str], exprs.Analysis]] = {}
    for key, analysis in recorded.items():
        by_expression.setdefault(key[0], {})[key] = analysis
    fresh: dict[str, cache.Entry] = {}
    for file in loaded:
        if file.path in cached:
            continue
        analyses: dict[tuple[str, str], tuple[object, object, object]] = {}
        for expression in check_worker.rule_expressions(file.documents):
            analyses.update(by_expression.get(expression, {}))
        texts = cache.template_texts(file.documents)
        fresh[file.path] = cache.Entry(
            file, analyses,
            {key: found for text in texts for key, found in problems.get(text, {}).items()},
            {text: references[text] for text in texts if text in references})
    return fresh


_READ_PARSED_PROMQL = (promql_syntax, template_unknown_label, inhibit_unknown_label,
                       route_unrouted_alert)
_CHECK_ORDER = (*(m for m in CHECKS if m not in _READ_PARSED_PROMQL),
                *(m for m in CHECKS if m in _READ_PARSED_PROMQL))
"""The checks that read parsed PromQL run last, giving the worker (`parallel.check_worker`) the
most time. The order cannot change the output: diagnostics are sorted by position,
code and message, and each code belongs to one check."""


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    unique = []
    for diagnostic in diagnostics:
        if diagnostic not in seen:
            seen.add(diagnostic)
            unique.append(diagnostic)
    return unique
