"""Find every comment and blank line of a file and hang it on the entry it belongs to.

A comment at the end of a line belongs to the innermost entry that starts on that line.
Full-line comments (and blank lines) above an entry belong to that entry and move with it;
those after the last entry of a collection, indented at least as deep as its entries, stay
at the end of that collection. Comments above a document's first entry stay at its top.
No comment is ever dropped: each lands in exactly one of `Entry.head`, `Entry.eol`,
`Collection.foot`, `Document.head`/`foot` or the stream head returned by `attach`.
"""

from __future__ import annotations

import bisect
import dataclasses

from converge.compiler.fmt import tree
from converge.compiler.fmt.tree import Collection, Document, Entry, Node, Pos

_BLANK, _COMMENT, _CONTENT, _SCALAR = "blank", "comment", "content", "scalar"


@dataclasses.dataclass(slots=True)
class _Line:
    kind: str
    comment: str | None = None
    column: int = 0


def attach(parsed: tree.Parsed) -> list[str]:
    """Attach the comments of `parsed.lines` to its documents' entries.

    Returns the stream head: the lines before the first document's `---` (comments,
    directives and blank lines; the whole text when it holds no document).
    """
    lines = _classify(parsed)
    documents = parsed.documents
    head: list[str] = []
    if not documents or documents[0].explicit:
        end = documents[0].marker_line if documents else len(parsed.lines)
        head = [text.strip() if text.lstrip().startswith("#") else text.rstrip()
                for text in parsed.lines[:end]]
    for index, document in enumerate(documents):
        low = document.marker_line if index or document.explicit else 0
        high = documents[index + 1].marker_line if index + 1 < len(documents) else len(lines)
        _attach_document(document, lines, low, high)
    return head


def found(parsed: tree.Parsed) -> list[str]:
    """Every comment of the text, in order (to check that none was lost)."""
    return [line.comment for line in _classify(parsed) if line.comment is not None]


def _classify(parsed: tree.Parsed) -> list[_Line]:
    """Each line's kind and its comment, with scalar text masked so `#` in it is no comment."""
    texts = parsed.lines
    kinds = [_CONTENT] * len(texts)
    masks: list[list[tuple[int, int]]] = [[] for _ in texts]
    for node, (start_line, start_col), (end_line, end_col) in parsed.spans:
        if isinstance(node, tree.Scalar) and node.style in ("|", ">"):
            _, after = tree.block_header(texts, node)
            masks[start_line].append((start_col, after))
            for number in tree.block_lines(node):
                kinds[number] = _SCALAR
            continue
        if start_line == end_line:
            masks[start_line].append((start_col, end_col))
            continue
        masks[start_line].append((start_col, len(texts[start_line])))
        for number in range(start_line + 1, end_line):
            kinds[number] = _SCALAR
        if end_line < len(texts):
            masks[end_line].append((0, end_col))
    return [_line(text, kind, mask) for text, kind, mask in zip(texts, kinds, masks, strict=True)]


def _line(text: str, kind: str, mask: list[tuple[int, int]]) -> _Line:
    if kind != _CONTENT:
        return _Line(kind)
    if not text.strip():
        return _Line(_BLANK)
    if "#" not in text:
        return _Line(_CONTENT)
    chars = list(text)
    for start, end in mask:
        chars[start:end] = "x" * len(chars[start:end])
    visible = "".join(chars)
    for at, char in enumerate(visible):
        if char == "#" and (at == 0 or visible[at - 1] in " \t"):
            comment = text[at:].rstrip()
            full = not visible[:at].strip()
            return _Line(_COMMENT if full else _CONTENT, comment, at)
    return _Line(_CONTENT)


@dataclasses.dataclass(slots=True)
class _Index:
    """A document's entries in source order, and who holds each collection."""

    entries: list[Entry]
    lines: list[int]
    holder: dict[int, Entry]
    flows: dict[int, list[Collection]]
    """The flow collections on each line."""

    @classmethod
    def of(cls, root: Node | None) -> _Index:
        entries: list[Entry] = []
        holder: dict[int, Entry] = {}
        flows: dict[int, list[Collection]] = {}
        stack: list[tuple[Node, Entry | None]] = [(root, None)] if root is not None else []
        while stack:
            node, owner = stack.pop()
            if not isinstance(node, Collection):
                continue
            if owner is not None:
                holder[id(node)] = owner
            if node.flow:
                for line in range(node.start[0], node.end[0] + 1):
                    flows.setdefault(line, []).append(node)
            stack.extend((entry.value, entry) for entry in node.entries)
            entries.extend(node.entries)
        entries.sort(key=lambda e: e.start)
        return cls(entries, [e.start[0] for e in entries], holder, flows)

    def ancestors(self, entry: Entry) -> list[Collection]:
        """The collections holding `entry`, innermost first."""
        chain = [entry.parent]
        while id(chain[-1]) in self.holder:
            chain.append(self.holder[id(chain[-1])].parent)
        return chain

    def owners(self, entry: Entry) -> list[Entry]:
        """The entries whose values hold `entry`, innermost first."""
        chain: list[Entry] = []
        collection = entry.parent
        while id(collection) in self.holder:
            chain.append(self.holder[id(collection)])
            collection = chain[-1].parent
        return chain


def _attach_document(document: Document, lines: list[_Line], low: int, high: int) -> None:
    index = _Index.of(document.root)
    run: list[int] = []
    for number in range(low, high):
        line = lines[number]
        if line.kind in (_BLANK, _COMMENT):
            run.append(number)
            continue
        if run:
            _attach_run(document, index, lines, run)
            run = []
        if line.kind == _CONTENT and line.comment is not None:
            _attach_eol(document, index, number, line)
    if run:
        _attach_run(document, index, lines, run)


def _mark_flows(index: _Index, position: Pos) -> None:
    for flow in index.flows.get(position[0], ()):
        if flow.start <= position < flow.end:
            flow.commented = True


def _attach_eol(document: Document, index: _Index, number: int, line: _Line) -> None:
    assert line.comment is not None
    position = (number, line.column)
    _mark_flows(index, position)

    def open_at(entry: Entry) -> bool:  # not inside a flow collection closed before it
        return not any(c.flow and c.end <= position for c in index.ancestors(entry))

    low = bisect.bisect_left(index.lines, number)
    high = bisect.bisect_right(index.lines, number)
    starting = [e for e in index.entries[low:high] if open_at(e)]
    if starting:
        owner = starting[-1]
    else:
        previous = [index.entries[low - 1], *index.owners(index.entries[low - 1])] if low else []
        covering = [e for e in previous if tree.end_of(e.value)[0] >= number and open_at(e)]
        if not covering:
            (document.head if low == 0 else document.foot).append(line.comment)
            return
        owner = covering[0]
    if owner.eol is None:
        owner.eol = line.comment
    else:
        owner.head.append(line.comment)


def _attach_run(document: Document, index: _Index, lines: list[_Line], run: list[int]) -> None:
    for number in run:
        if lines[number].kind == _COMMENT:
            _mark_flows(index, (number, lines[number].column))
    first, last = run[0], run[-1]
    before = bisect.bisect_left(index.lines, first)
    after = bisect.bisect_right(index.lines, last)
    previous = index.entries[before - 1] if before else None
    following = index.entries[after] if after < len(index.entries) else None
    texts = [(lines[n].comment or "", lines[n].column) for n in run]
    if previous is None:
        document.head.extend(text for text, _ in texts)
        return
    outer = set(map(id, index.owners(following))) if following else set()
    inside = [e for e in (previous, *index.owners(previous))
              if tree.end_of(e.value)[0] > last and id(e) not in outer]
    if inside:  # between an entry's key and its value: keep it above the entry
        inside[0].head.extend(text for text, _ in texts)
        return
    closing = []
    holding = set(map(id, index.ancestors(following))) if following else set()
    for collection in index.ancestors(previous):
        if id(collection) in holding:
            break
        closing.append(collection)
    _distribute(texts, closing, following, document)


def _distribute(texts: list[tuple[str, int]], closing: list[Collection],
                following: Entry | None, document: Document) -> None:
    """Split a run between the feet of the collections it closes and the next entry's head.

    A comment indented at least as deep as a closing collection's entries ends that
    collection; the first one that is not starts the head of the entry that follows.
    """
    last = following.head if following is not None else document.foot
    level = 0
    target: list[str] | None = None
    waiting: list[str] = []
    for text, column in texts:
        if not text:
            waiting.append("")
            continue
        if target is not last:
            closer = next((i for i in range(level, len(closing))
                          if closing[i].entries and closing[i].entries[0].start[1] <= column),
                         None)
            if closer is not None:
                level, target = closer, closing[closer].foot
            else:
                target = last
        target.extend(waiting)
        waiting = []
        target.append(text)
    if following is not None:
        following.head.extend(waiting)
