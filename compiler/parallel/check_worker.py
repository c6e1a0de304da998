"""Use the second core: a forked worker loads half the files and parses all the PromQL.

At 10,000 rules, loading the YAML and parsing the PromQL are two thirds of `converge
check`, and both work file by file or expression by expression. A thread cannot help
(both hold the GIL); a forked process can. It inherits the source files for free, loads
the second half of them while the parent loads the first, and sends them back pickled
(unpickling costs a tenth of loading). The parent then sends it the expressions of its
own half, and the worker parses and analyses every expression while the parent
validates, expands and runs the checks that need no PromQL; the checks that do read
the worker's answers (`compiler.exprs.prefetched`). On two cores this turns about
1.6 s of work at 10,000 rules into about 1.0 s of waiting.

Everything the worker sends is what the parent would have computed (the same functions
on the same input), so the result is identical with or without it; if the worker fails
in any way, the parent does the work itself. The worker is used only where it pays and
is safe: with `fork`, in a process with no other thread (a forked copy of a threaded
process may inherit held locks), and for repositories big enough to outweigh the fork.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from converge.compiler import children, exprs, loader, promql
from converge.compiler.promql.shape import Shape
from converge.compiler.sources import SourceFile

MIN_BYTES = 1 << 20
"""Below this much YAML (about 2,500 rules) the fork and the pickling are not worth it."""

_DIALECT = "prometheus"
_BATCH = 256
"""Expressions the worker analyses between looks for the parent's message."""
_HEADER = struct.Struct("<Q")


class Worker:
    """The forked worker, seen from the parent; every method is safe to call on failure."""

    def __init__(self, sources: Sequence[SourceFile], split: int) -> None:
        self.split = split
        """The parent loads `sources[:split]`; the worker loads the rest."""
        self._sources = sources
        self._expressions: list[str] = []
        down_read, down_write = os.pipe()  # parent -> worker: the parent's expressions
        up_read, up_write = os.pipe()  # worker -> parent: loaded files, then answers
        parent = os.getpid()
        self._pid = os.fork()
        if self._pid == 0:  # the worker: never returns
            children.die_with_parent(parent)
            os.close(down_write)
            os.close(up_read)
            _serve(sources[split:], down_read, up_write)
        os.close(down_read)
        os.close(up_write)
        self._down: int | None = down_write
        self._up: int | None = up_read
        self._failed = False

    def loaded(self) -> list[loader.LoadedFile]:
        """The worker's files, as `loader.load` gives them (loaded here if it failed)."""
        found = self._receive()
        rest = self._sources[self.split:]
        if not (isinstance(found, list) and len(found) == len(rest)
                and all(isinstance(f, loader.LoadedFile) for f in found)):
            self._fail()
            found = [loader.load(source.path, source.data) for source in rest]
        return found

    def send_expressions(self, documents: Iterable[loader.Document]) -> None:
        """Give the worker the rule expressions of the parent's half to parse too."""
        self._expressions = list(dict.fromkeys(rule_expressions(documents)))
        if self._down is None:
            return
        try:
            _send(self._down, self._expressions)
        except OSError:
            self._fail()
        finally:
            os.close(self._down)
            self._down = None

    def answers(self) -> dict[tuple[str, str], exprs.Analysis]:
        """The analyses of every expression (of both halves) by (expression, dialect);
        empty if the worker failed, so the parent parses them itself."""
        found = self._receive()
        self.close()
        if not (isinstance(found, tuple) and len(found) == 2):
            return {}
        expressions, packed = found
        if not (isinstance(expressions, list) and isinstance(packed, list)
                and len(expressions) == len(packed)):
            return {}
        return {(expr, _DIALECT): analysis
                for expr, analysis in zip(expressions, _unpack(packed), strict=True)}

    def close(self) -> None:
        """Stop talking to the worker and reap it (idempotent)."""
        for fd in (self._down, self._up):
            if fd is not None:
                os.close(fd)
        self._down = self._up = None
        if self._pid:
            pid, self._pid = self._pid, 0
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): gone anyway
                pass

    def _fail(self) -> None:
        self._failed = True
        self.close()

    def _receive(self) -> Any:
        if self._failed or self._up is None:
            return None
        try:
            return pickle.loads(_read_message(self._up))
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            self._fail()
            return None


def _serve(sources: Sequence[SourceFile], down: int, up: int) -> None:
    """The worker's whole life; it exits without running any of the parent's cleanup."""
    code = 1
    try:
        loaded = [loader.load(source.path, source.data) for source in sources]
        _send(up, loaded)
        own = list(dict.fromkeys(rule_expressions(d for f in loaded for d in f.documents)))
        # Analyse our own expressions while the parent imports and loads its files, and
        # read its message as soon as it comes (a full pipe would hold up its write): at
        # 10,000 rules `converge diff` then waits 0.02 s for the answers instead of 0.2 s.
        done: dict[str, exprs.Analysis] = {}
        theirs: list[str] | None = None
        for start in range(0, len(own), _BATCH):
            if theirs is None and select.select([down], [], [], 0)[0]:
                theirs = pickle.loads(_read_message(down))
            for expr in own[start:start + _BATCH]:
                done[expr] = exprs.analysis(expr, _DIALECT)
        if theirs is None:
            theirs = pickle.loads(_read_message(down))
        expressions = list(dict.fromkeys([*theirs, *own]))
        _send(up, (expressions, _pack([done[e] if e in done else exprs.analysis(e, _DIALECT)
                                       for e in expressions])))
        code = 0
    finally:
        os._exit(code)


_Packed = tuple[tuple[str, int] | None, tuple[bool, tuple[str, ...]] | None, Any]


def _pack(analyses: list[exprs.Analysis]) -> list[_Packed]:
    """Analyses as plain tuples, each distinct one a single object: pickled as objects,
    10,000 analyses took 0.1 s to send; most label sets recur."""
    distinct: dict[_Packed, _Packed] = {}
    packed = []
    for problem, labels, facts in analyses:
        item = (None if problem is None else (problem.message, problem.offset),
                None if labels is None else (labels.any, tuple(sorted(labels.names))),
                None if facts is None else tuple(facts))
        packed.append(distinct.setdefault(item, item))
    return packed


def _unpack(packed: list[_Packed]) -> list[exprs.Analysis]:
    """The analyses `_pack` packed, each distinct one built once."""
    built: dict[_Packed, exprs.Analysis] = {}
    analyses = []
    for item in packed:
        found = built.get(item)
        if found is None:
            problem, labels, facts = item
            found = built[item] = (
                None if problem is None else promql.ParseProblem(*problem),
                None if labels is None else promql.LabelSet(labels[0], frozenset(labels[1])),
                None if facts is None else Shape(*facts))
        analyses.append(found)
    return analyses


def _send(fd: int, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_message(fd: int) -> bytes:
    size = _HEADER.unpack(_read_exactly(fd, _HEADER.size))[0]
    return _read_exactly(fd, size)


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the worker stopped early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


HALF = 0.5
"""The worker's share of the YAML when it starts as the pipeline does."""
BEFORE_IMPORTS = 0.6
"""Its share when started before the parent imports the validation models (pydantic and
`specs`: 0.3 s at start-up): the parent loads less since it imports meanwhile. With
0.7 the parent waited 0.2 s for the worker's files at 10,000 rules; with 0.6, 0.04 s."""
BEFORE_DIFF_IMPORTS = 0.8
"""Its share when started before `converge diff` imports the models, the renderers and
the diff (0.8 s at start-up): at 10,000 rules the worker's files are ready either way,
and this process loads its 20 % in 0.1 s where it loaded its 40 % in 0.2 s."""


def start(sources: Sequence[SourceFile], *, share: float = HALF) -> Worker | None:
    """Fork a worker to load the last `share` of `sources` (by size) and parse all PromQL,
    when it pays and is safe; None otherwise (the caller then does everything)."""
    total = sum(len(source.data) for source in sources)
    if (total < MIN_BYTES or len(sources) < 2 or not hasattr(os, "fork")
            or threading.active_count() > 1):
        return None
    split, running, own = 0, 0, total * (1 - share)
    while split < len(sources) - 1 and running + len(sources[split].data) <= own:
        running += len(sources[split].data)
        split += 1
    try:
        return Worker(sources, split)
    except OSError:  # no process or pipe to spare: do it all in this process
        return None


def rule_expressions(documents: Iterable[loader.Document]) -> Iterable[str]:
    """The `expr` of every rule of every RuleGroup document, as written."""
    for document in documents:
        body: Any = document.body
        if not isinstance(body, dict) or body.get("kind") != "RuleGroup":
            continue
        spec = body.get("spec")
        rules = spec.get("rules") if isinstance(spec, dict) else None
        if not isinstance(rules, list):
            continue
        for rule in rules:
            if isinstance(rule, dict) and isinstance(rule.get("expr"), str):
                yield rule["expr"]
