"""Load YAML into plain values while keeping the span of every key and value.

Built straight from libyaml's event stream (PyYAML's C parser): no node tree is made and
no recursion is used, so a 10,000-rule repository loads in a fraction of a second and
deeply nested garbage cannot crash the interpreter. Every problem becomes a diagnostic
with a position; nothing here raises for bad input.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import gc
import itertools
import re
from sys import intern
from typing import Any

import yaml

from converge.compiler.diagnostics import Diagnostic, Severity, Span

Path = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_EXPANDED_NODES = 2_000_000

_CLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Positions:
    """The spans of one file's documents, found on first use by parsing the file again.

    A valid repository never asks for a position, so the first pass builds values only
    and positions cost nothing until a diagnostic needs one.
    """

    __slots__ = ("_found", "_path", "_text")

    def __init__(self, path: str, text: str) -> None:
        self._path = path
        self._text = text
        self._found: dict[int, tuple[dict[Path, Any], dict[Path, Any]]] | None = None

    def of(self, index: int) -> tuple[dict[Path, Any], dict[Path, Any]]:
        if self._found is None:
            builder = _Builder(self._path, record=True)
            builder.run(self._text)
            self._found = {d.index: (d.spans, d.key_spans) for d in builder.documents}
        return self._found.get(index, ({}, {}))


@dataclasses.dataclass(slots=True, eq=False)
class Document:
    """One YAML document of a spec file, as plain values plus the spans of its nodes."""

    path: str
    index: int
    body: Any
    _spans: dict[Path, tuple[int, int, int, int]] | None = None
    _key_spans: dict[Path, tuple[int, int, int, int]] | None = None
    _positions: _Positions | None = None
    _template_spans: dict[Path, tuple[int, int, int, int]] | None = None
    """Without every span: those of the string values holding `{{`, recorded by the first
    parse at little cost, so a template diagnostic needs no second parse of its file
    (10,000 rules with 1,200 template warnings: 0.4 s less)."""

    @property
    def spans(self) -> dict[Path, tuple[int, int, int, int]]:
        if self._spans is None:
            assert self._positions is not None
            self._spans, self._key_spans = self._positions.of(self.index)
        return self._spans

    @property
    def key_spans(self) -> dict[Path, tuple[int, int, int, int]]:
        if self._key_spans is None:
            _ = self.spans
        assert self._key_spans is not None
        return self._key_spans

    def locate(self, loc: Path, *, key: bool = False) -> Span:
        """The span of the node at `loc`, or of its nearest recorded ancestor.

        With `key`, a mapping entry is located by its key rather than its value.
        """
        loc = tuple(loc)
        if not key and self._spans is None and self._template_spans is not None:
            found = self._template_spans.get(loc)
            if found is not None:
                return Span(*found)
        spans, key_spans = self.spans, self.key_spans
        while True:
            if key and loc in key_spans:
                return Span(*key_spans[loc])
            if loc in spans:
                return Span(*spans[loc])
            if not loc:
                return Span.point(1, 1)
            loc = loc[:-1]

    def has(self, loc: Path) -> bool:
        return tuple(loc) in self.spans

    def key_span(self, loc: Path) -> Span | None:
        """The span of the key of the mapping entry at `loc`, if it is one."""
        found = self.key_spans.get(tuple(loc))
        return Span(*found) if found else None


@dataclasses.dataclass(slots=True)
class LoadedFile:
    path: str
    text: str
    documents: list[Document]
    diagnostics: list[Diagnostic]


def load(path: str, data: bytes) -> LoadedFile:
    """Decode and parse one file into documents; problems become diagnostics."""
    text, problem = _decode(path, data)
    if problem is not None:
        return LoadedFile(path, text, [], [problem])
    builder = _Builder(path, record=False)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        builder.run(text)
    finally:
        if was_enabled:
            gc.enable()
    positions = _Positions(path, text)
    for document in builder.documents:
        document._positions = positions
    diagnostics = builder.diagnostics
    if any(d.code == "yaml/duplicate-key" for d in diagnostics):
        diagnostics = _with_first_definitions(path, text)
    return LoadedFile(path, text, builder.documents, diagnostics)


def _with_first_definitions(path: str, text: str) -> list[Diagnostic]:
    """Parse again recording positions, so duplicate keys can name the first one's line."""
    builder = _Builder(path, record=True)
    builder.run(text)
    return builder.diagnostics


def _decode(path: str, data: bytes) -> tuple[str, Diagnostic | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8", "replace").removeprefix("\ufeff")
        line, column = offset_to_line_column(before, len(before))
        text = data.decode("utf-8", "replace")
        return text, Diagnostic(
            path,
            Span.point(line, column),
            "yaml/parse",
            Severity.ERROR,
            f"the file is not valid UTF-8 (byte 0x{data[error.start]:02x})",
            "save the file as UTF-8",
        )



class _Frame:
    """An open mapping or sequence while its events stream in."""

    __slots__ = ("value", "path", "is_map", "key", "merge", "anchor", "counter", "merges")

    def __init__(self, value: Any, path: Path, anchor: str | None, counter: int) -> None:
        self.value = value
        self.path = path
        self.is_map = isinstance(value, dict)
        self.key: str | None = None
        self.merge = False
        self.anchor = anchor
        self.counter = counter
        self.merges: list[dict[str, Any]] = []


class _Builder:
    """Turns libyaml events into documents; one tight loop, since it runs per node."""

    def __init__(self, path: str, *, record: bool) -> None:
        self.path = path
        self.record = record
        self.documents: list[Document] = []
        self.diagnostics: list[Diagnostic] = []

    def _error(self, span: Span, code: str, message: str, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(self.path, span, code, Severity.ERROR, message, hint))

    def run(self, text: str) -> None:
        parser = _CLoader(text)
        try:
            while True:
                event = parser.get_event()
                kind = type(event)
                if kind is yaml.DocumentStartEvent:
                    self._document(parser, len(self.documents))
                elif kind is yaml.StreamEndEvent:
                    break
        except yaml.YAMLError as error:
            self._error(*_yaml_error_position(error, text))
        except _TooDeep:
            pass
        finally:
            parser.dispose()

    def _document(self, parser: Any, index: int) -> None:  # noqa: C901 - one hot loop
        # The innermost open collection's state lives in locals (`container`, `is_map`,
        # `pending` key, `merge`) and is saved into its `_Frame` only while a nested one
        # is open: attribute reads per scalar cost 10 % of loading.
        record = self.record
        spans: dict[Path, Any] = {}
        key_spans: dict[Path, Any] = {}
        anchors: dict[str, tuple[Any, int]] = {}
        stack: list[_Frame] = []
        frame: _Frame | None = None
        container: Any = None
        is_map = False
        pending: str | None = None  # the key whose value comes next, in a mapping
        merge = False  # that key is `<<`
        root: Any = _MISSING
        counter = 0
        failed = False
        span: Any = None
        get_event = parser.get_event
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        document_end = yaml.DocumentEndEvent
        maybe_typed = _MAYBE_TYPED
        while True:
            event = get_event()
            kind = type(event)
            if kind is document_end:
                break
            if failed:
                continue
            if is_map and pending is None and kind is not map_end:
                if kind is not scalar_event:
                    failed = self._bad_key(event, kind is alias_event)
                    continue
                counter += 1
                # one string per distinct key: the check worker pickles them once
                # (dumping 10,000 rules 0.06 s -> 0.03 s)
                key = intern(event.value)
                if key == "<<" and event.implicit[0]:
                    pending, merge = key, True
                    continue
                if key in container:
                    assert frame is not None
                    self._duplicate(key, (*frame.path, key), key_spans, event)
                if record:
                    assert frame is not None
                    key_spans[(*frame.path, key)] = _mark_span(event)
                pending = key
                continue
            if kind is scalar_event:
                counter += 1
                value = event.value
                if event.tag is not None or event.implicit[0] and (
                        not value or value[0] in maybe_typed):
                    value = _resolve(event)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                if record or "{{" in event.value:
                    # a template's own span is kept even without `record`: a template
                    # diagnostic then needs no second parse of its file
                    span = _mark_span(event)
                else:
                    span = None
            elif kind is map_start or kind is seq_start:
                counter += 1
                if len(stack) >= MAX_DEPTH:
                    # stop reading the file: libyaml's cost grows with the square of depth
                    self._fail_at(event.start_mark, f"the document is nested more than "
                                  f"{MAX_DEPTH} levels deep; the rest of the file was not read")
                    raise _TooDeep
                path: Path = ()
                if frame is not None:
                    step = pending if is_map else len(container)
                    path = (*frame.path, step)  # type: ignore[arg-type]
                if record:
                    spans[path] = _mark_span(event)
                if frame is not None:
                    frame.key, frame.merge = pending, merge
                frame = _Frame({} if kind is map_start else [], path, event.anchor, counter)
                stack.append(frame)
                container, is_map, pending, merge = frame.value, frame.is_map, None, False
                continue
            elif kind is map_end or kind is seq_end:
                done = stack.pop()
                if done.merges:
                    for merged in done.merges:
                        for key, item in merged.items():
                            done.value.setdefault(key, item)
                if done.anchor:
                    anchors[done.anchor] = (done.value, counter - done.counter + 1)
                if stack:
                    frame = stack[-1]
                    container, is_map, pending, merge = (frame.value, frame.is_map, frame.key,
                                                         frame.merge)
                else:
                    frame, container, is_map, pending, merge = None, None, False, None, False
                value, span = done.value, None
            elif kind is alias_event:
                if event.anchor not in anchors:
                    failed = self._fail_at(event.start_mark, f"unknown anchor {event.anchor!r}")
                    continue
                value, size = anchors[event.anchor]
                counter += size
                if counter > MAX_EXPANDED_NODES:
                    failed = self._fail_at(event.start_mark, "aliases expand this document "
                                           f"beyond {MAX_EXPANDED_NODES:,} nodes")
                    continue
                span = _mark_span(event) if record else None
            else:
                continue
            # place `value` into the enclosing container
            if frame is None:
                if span is not None:
                    spans[()] = span
                root = value
            elif not is_map:
                if span is not None:
                    spans[(*frame.path, len(container))] = span
                container.append(value)
            else:
                name, pending = pending, None
                if merge:
                    merge = False
                    failed = not self._merge(frame, value, event.start_mark)
                    continue
                if span is not None:
                    spans[(*frame.path, name)] = span  # type: ignore[arg-type]
                container[name] = value
        if not failed and root is not _MISSING and root is not None:
            document = Document(self.path, index, root)
            if record:
                document._spans, document._key_spans = spans, key_spans
            elif spans:
                document._template_spans = spans
            self.documents.append(document)

    def _fail_at(self, mark: Any, message: str) -> bool:
        self._error(Span.point(mark.line + 1, mark.column + 1), "yaml/parse", message)
        return True

    def _bad_key(self, event: Any, alias: bool) -> bool:
        message = ("an alias cannot be used as a mapping key" if alias
                   else "a mapping key must be a plain value, not a mapping or a list")
        return self._fail_at(event.start_mark, message)

    def _duplicate(self, key: str, path: Path, key_spans: dict[Path, Any], event: Any) -> None:
        first = key_spans.get(path)
        where = f" (first defined on line {first[0]})" if first else ""
        self._error(
            Span(*_mark_span(event)),
            "yaml/duplicate-key", f"duplicate key {key!r}{where}",
            "remove one of them: YAML keeps only the last, which hides mistakes",
        )

    def _merge(self, frame: _Frame, value: Any, mark: Any) -> bool:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            self._fail_at(mark, "a merge key '<<' needs a mapping or a list of mappings")
            return False
        frame.merges.extend(sources)
        return True


_MISSING: Any = object()


class _TooDeep(Exception):
    """Raised inside the builder to stop reading a pathologically nested file."""


def _mark_span(event: Any) -> tuple[int, int, int, int]:
    start, end = event.start_mark, event.end_mark
    return (start.line + 1, start.column + 1, end.line + 1, end.column + 1)


_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)$|[-+]?0x[0-9a-fA-F_]+$|[-+]?0o?[0-7_]+$")
_FLOAT = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"
)
_BOOLS = {
    **dict.fromkeys(("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_SPECIAL_FLOATS = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "-.inf": float("-inf"), "-.Inf": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfFyYoO")
_STR_TAG = "tag:yaml.org,2002:str"


def _resolve(event: Any) -> Any:
    """YAML 1.1 implicit typing for plain scalars, as Prometheus' go-yaml reads them."""
    value: str = event.value
    tag = event.tag
    if tag is not None and tag != "!":
        return _explicit(tag, value)
    if not event.implicit[0]:
        return value
    if not value:
        return None
    if value[0] not in _MAYBE_TYPED:
        return value
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _INT.match(value):
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return int(value.replace("_", ""), 8) if value.lstrip("+-").startswith("0") else value
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value.replace("_", ""))
    return _SPECIAL_FLOATS.get(value, value)


def _explicit(tag: str, value: str) -> Any:
    if tag == _STR_TAG:
        return value
    name = tag.rsplit(":", 1)[-1]
    try:
        if name == "int":
            return int(value.replace("_", ""), 0)
        if name == "float":
            return float(value.replace("_", ""))
        if name == "bool":
            return _BOOLS.get(value, value)
        if name == "null":
            return None
    except ValueError:
        return value
    return value


def _yaml_error_position(error: yaml.YAMLError, text: str) -> tuple[Span, str, str, str]:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        lines = split_lines(text)
        line = min(mark.line, len(lines) - 1)  # libyaml may point one past the last line
        line_text = lines[line]
        span = Span.point(line + 1, min(mark.column, len(line_text)) + 1 if line == mark.line
                          else len(line_text) + 1)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        message = f"{problem} ({context})" if context else str(problem)
        return span, "yaml/parse", message, _parse_hint(message, line_text, mark.column)
    position = getattr(error, "position", None)
    if isinstance(position, int):
        line, column = offset_to_line_column(text, position)
        reason = getattr(error, "reason", "invalid character")
        character = getattr(error, "character", None)
        shown = f"#x{ord(character):04x}" if isinstance(character, str) else f"#x{character:04x}"
        return (Span.point(line, column), "yaml/parse",
                f"unacceptable character {shown}: {reason}", "remove the character")
    return Span.point(1, 1), "yaml/parse", str(error), ""


def _parse_hint(message: str, line: str, column: int) -> str:
    if "\t" in line[: column + 1] or "tab" in message:
        return "indent with spaces: YAML does not allow tabs for indentation"
    if "mapping values are not allowed" in message:
        return "quote a value that contains ': ' or check the indentation of this line"
    if "could not find expected ':'" in message:
        return "a key needs a ':' after it; check the indentation of the lines above"
    return ""


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_OTHER_BREAK = re.compile("[\r\x85\u2028\u2029]")
"""Line breaks other than LF (most files have none: their line index is built faster)."""


def split_lines(text: str) -> list[str]:
    """The lines of `text` as libyaml counts them (CR, LF, CRLF, NEL, LS and PS break lines)."""
    return _LINE_BREAK.split(text)


def offset_to_line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset in `text`, counted as libyaml does."""
    return line_index(text).line_column(offset)


class LineIndex:
    """Where each line of one text starts (lines as libyaml counts them), found once.

    Diagnostics inside values map offsets to lines and back; doing that by scanning the
    text each time made a check cost diagnostics × file size (10,000 rules with 1,200
    warnings: 8 s of 13 s).
    """

    __slots__ = ("_lines", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        if _OTHER_BREAK.search(text) is None:  # only LF: lengths of lines, summed in C
            self.starts = [0, *itertools.accumulate(map((1).__add__,
                                                        map(len, text.split("\n")[:-1])))]
        else:
            self.starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        """`split_lines(text)`, split once."""
        if self._lines is None:
            self._lines = split_lines(self.text)
        return self._lines

    def offset(self, line: int, column: int) -> int | None:
        """The offset of a 1-based line and column; None past the last line."""
        if line > len(self.starts):
            return None
        return self.starts[max(line, 1) - 1] + column - 1

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        text = self.text
        offset = max(0, min(offset, len(text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        if offset and text[offset - 1] == "\r" and text[offset:offset + 1] == "\n":
            # between the two characters of a CRLF: the CR alone ends a line
            return line + 2, 1
        return line + 1, offset - start + 1


@functools.lru_cache(maxsize=256)
def line_index(text: str) -> LineIndex:
    """The `LineIndex` of `text`, built once per text (a str caches its hash)."""
    return LineIndex(text)


__all__ = ["Document", "LineIndex", "LoadedFile", "Path", "line_index", "load",
           "offset_to_line_column", "split_lines"]
