"""A spec file's YAML as a tree of nodes that remember where they were written.

Built from libyaml's events, the parser `converge check` reads with, so `fmt` sees exactly
the structure the compiler sees. Comments are not part of the tree's shape: `comments`
finds them in the text and hangs them on entries (`Entry.head`, `Entry.eol`,
`Collection.foot`, `Document.head`/`foot`), so that they travel with their keys when the
keys are put in canonical order.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal

import yaml

Pos = tuple[int, int]
"""0-based line and column."""

_CParser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE_TAG = "tag:yaml.org,2002:"
_COMMENT = re.compile(r"(?:^|\s)#.*$")


@dataclasses.dataclass(slots=True, eq=False)
class Scalar:
    value: str
    style: str
    """'' plain, "'" single-quoted, '"' double-quoted, '|' literal, '>' folded."""
    tag: str | None
    anchor: str | None
    start: Pos
    end: Pos
    folded: tuple[str, tuple[str, ...]] | None = None
    """For a folded (`>`) scalar: its header and its lines as written, unindented."""


@dataclasses.dataclass(slots=True, eq=False)
class Alias:
    anchor: str
    start: Pos
    end: Pos


@dataclasses.dataclass(slots=True, eq=False)
class Collection:
    kind: Literal["map", "seq"]
    flow: bool
    tag: str | None
    anchor: str | None
    start: Pos
    end: Pos
    entries: list[Entry] = dataclasses.field(default_factory=list)
    foot: list[str] = dataclasses.field(default_factory=list)
    """Comment lines after the last entry ('' is a blank line)."""
    commented: bool = False
    """A comment sits inside it (a flow collection holding one is written in block style)."""


Node = Scalar | Alias | Collection


@dataclasses.dataclass(slots=True, eq=False)
class Entry:
    """A mapping entry (`key` set) or a sequence item (`key` None)."""

    key: Scalar | None
    value: Node
    start: Pos
    """Where the entry begins: its key, or its item's dash."""
    parent: Collection
    head: list[str] = dataclasses.field(default_factory=list)
    """Comment lines above it ('' is a blank line)."""
    eol: str | None = None
    """The comment at the end of its first line."""


@dataclasses.dataclass(slots=True, eq=False)
class Document:
    root: Node | None
    explicit: bool
    """Written with a `---` line."""
    marker_line: int
    """The line of its `---`, or of its first content if it has none."""
    head: list[str] = dataclasses.field(default_factory=list)
    foot: list[str] = dataclasses.field(default_factory=list)
    aliased: bool = False
    """It uses an alias (`*name`), so its keys keep their order: an alias must follow its
    anchor."""


@dataclasses.dataclass(slots=True)
class Parsed:
    documents: list[Document]
    lines: list[str]
    spans: list[tuple[Scalar | Alias, Pos, Pos]]
    """Every scalar and alias with the region of text it covers."""


def end_of(node: Node) -> Pos:
    """Where a node's text ends (a block collection ends with its last entry)."""
    if isinstance(node, Collection) and not node.flow and node.entries:
        return end_of(node.entries[-1].value)
    return node.end


def parse(text: str, lines: list[str]) -> Parsed:
    """The documents of `text` (split into `lines` the way libyaml counts them).

    Raises:
        yaml.YAMLError: the text is not YAML (callers check with the loader first).
    """
    builder = _Builder(lines)
    for event in yaml.parse(text, Loader=_CParser):
        builder.feed(event)
    return Parsed(builder.documents, lines, builder.spans)


def short_tag(tag: str | None) -> str | None:
    """A tag as it can be written: `!!str` for the core schema's, `!<...>` for others."""
    if tag is None:
        return None
    if tag.startswith(_CORE_TAG):
        return "!!" + tag[len(_CORE_TAG):]
    return tag if tag.startswith("!") else f"!<{tag}>"


class _Builder:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.documents: list[Document] = []
        self.spans: list[tuple[Scalar | Alias, Pos, Pos]] = []
        self._stack: list[Collection] = []
        self._keys: list[Scalar | None] = []
        self._document: Document | None = None

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            line = event.start_mark.line
            if event.explicit:  # the mark may be on a directive above the `---`
                line = next((n for n in range(line, len(self.lines))
                             if self.lines[n].startswith("---")), line)
            self._document = Document(None, bool(event.explicit), line)
            self.documents.append(self._document)
        elif isinstance(event, yaml.ScalarEvent):
            self._place(self._scalar(event))
        elif isinstance(event, yaml.AliasEvent):
            alias = Alias(event.anchor, _pos(event.start_mark), _pos(event.end_mark))
            self.spans.append((alias, alias.start, alias.end))
            assert self._document is not None
            self._document.aliased = True
            self._place(alias)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            kind: Literal["map", "seq"] = (
                "map" if isinstance(event, yaml.MappingStartEvent) else "seq")
            collection = Collection(kind, bool(event.flow_style), short_tag(event.tag),
                                    event.anchor, _pos(event.start_mark), _pos(event.end_mark))
            self._place(collection)
            self._stack.append(collection)
            self._keys.append(None)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = self._stack.pop()
            self._keys.pop()
            if done.flow:
                done.end = _pos(event.end_mark)

    def _scalar(self, event: Any) -> Scalar:
        style = event.style or ""
        scalar = Scalar(event.value, style, short_tag(event.tag), event.anchor,
                        _pos(event.start_mark),
                        _pos(event.end_mark))
        if style in ("|", ">"):
            header, _ = block_header(self.lines, scalar)
            if "+" not in header:  # trailing blank lines are not content: not its text
                last = max([n for n in block_lines(scalar) if self.lines[n].strip()],
                           default=scalar.start[0])
                scalar.end = (last, len(self.lines[last]))
        if style == ">":
            scalar.folded = _folded_source(self.lines, scalar)
        self.spans.append((scalar, scalar.start, scalar.end))
        return scalar

    def _place(self, node: Node) -> None:
        if not self._stack:
            assert self._document is not None
            self._document.root = node
            return
        parent = self._stack[-1]
        if parent.kind == "seq":
            start = node.start if parent.flow else _dash(self.lines, node.start)
            parent.entries.append(Entry(None, node, start, parent))
            return
        key = self._keys[-1]
        if key is None:
            if not isinstance(node, Scalar):  # the loader rejects these before we get here
                raise ValueError("a mapping key must be a scalar")
            self._keys[-1] = node
            return
        parent.entries.append(Entry(key, node, key.start, parent))
        self._keys[-1] = None


def _pos(mark: Any) -> Pos:
    return (mark.line, mark.column)


def _dash(lines: list[str], start: Pos) -> Pos:
    """The `-` of a block sequence item whose content starts at `start`."""
    line, column = start
    before = lines[line][:column].rstrip()
    if before.endswith("-"):
        return (line, len(before) - 1)
    for number in range(line - 1, -1, -1):
        text = _COMMENT.sub("", lines[number]).rstrip()
        if text.endswith("-"):
            return (number, len(text) - 1)
        if text:
            break
    return start


_HEADER = re.compile(r"[|>][-+0-9]*")


def block_header(lines: list[str], scalar: Scalar) -> tuple[str, int]:
    """A block scalar's header (`|`, `>-`, …) and the column just after it."""
    line, column = scalar.start
    text = lines[line]
    at = min((i for i in (text.find("|", column), text.find(">", column)) if i >= 0),
             default=column)
    match = _HEADER.match(text, at)
    header = match.group(0) if match else text[at:at + 1]
    return header, at + len(header)


def block_lines(scalar: Scalar) -> range:
    """The lines holding a block scalar's content."""
    end_line, end_column = scalar.end
    return range(scalar.start[0] + 1, end_line + 1 if end_column else end_line)


def _folded_source(lines: list[str], scalar: Scalar) -> tuple[str, tuple[str, ...]] | None:
    """A folded scalar's lines as written, unindented; None where re-indenting them as
    they are could change the value (an explicit indentation, kept trailing lines,
    trailing spaces)."""
    header, _ = block_header(lines, scalar)
    if any(c.isdigit() or c == "+" for c in header):
        return None
    body = [lines[n] for n in block_lines(scalar)]
    while body and not body[-1].strip():
        body.pop()
    content = [line for line in body if line.strip()]
    if not content or any(line != line.rstrip() for line in body if line.strip()):
        return None
    indent = len(content[0]) - len(content[0].lstrip(" "))
    if any(line.strip() and len(line) - len(line.lstrip(" ")) < indent for line in body):
        return None
    return header, tuple(line[indent:] if line.strip() else "" for line in body)
