"""Write a tree back as text in the one canonical layout.

Two spaces per level; a sequence's dashes two spaces under its key; block style, except
that a sequence written in flow style (`[a, b]`) stays so while its items are plain
strings, it holds no comment and it fits in `WIDTH` columns. A blank line survives
between entries (one, however many there were), never at the start of a collection.
End-of-line comments are put two spaces after the content.
"""

from __future__ import annotations

from converge.compiler.fmt import scalars
from converge.compiler.fmt.tree import Alias, Collection, Document, Entry, Node, Scalar

WIDTH = 100
INDENT = 2


def emit(documents: list[Document], stream_head: list[str]) -> str:
    """The text of `documents`, preceded by the stream head's lines."""
    out: list[str] = []
    _comments(out, stream_head, 0, leading=False)
    for index, document in enumerate(documents):
        if index or document.explicit:
            out.append("---")
        _comments(out, document.head, 0, leading=False)
        root = document.root
        if isinstance(root, Collection) and _inline(root, WIDTH) is None:
            if _props(root):
                out.append(_props(root))
            _block(out, root, 0)
        elif root is not None and not (isinstance(root, Scalar) and root.value == ""
                                       and root.style == "" and not _props(root)):
            out.append(_join("", _props(root), _single(root, WIDTH)))
        _comments(out, document.foot, 0, leading=True)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _block(out: list[str], node: Collection, indent: int) -> None:
    for position, entry in enumerate(node.entries):
        if node.kind == "map":
            _entry(out, entry, indent, first=position == 0)
        else:
            _item(out, entry, indent, first=position == 0)
    _comments(out, node.foot, indent, leading=True)


def _entry(out: list[str], entry: Entry, indent: int, *, first: bool) -> None:
    assert entry.key is not None
    _comments(out, entry.head, indent, leading=not first)
    key = _join("", _props(entry.key), _key(entry.key))
    _value(out, " " * indent + key + ":", entry.value, indent + INDENT, entry.eol)


def _item(out: list[str], entry: Entry, indent: int, *, first: bool) -> None:
    value = entry.value
    dash = " " * indent + "-"
    if not _compact(entry, indent):
        _comments(out, entry.head, indent, leading=not first)
        _value(out, dash, value, indent + INDENT, entry.eol)
        return
    assert isinstance(value, Collection)
    _hoist(entry, indent)
    _comments(out, entry.head, indent, leading=not first)
    inner: list[str] = []
    _block(inner, value, indent + INDENT)
    inner[0] = dash + " " + inner[0][indent + INDENT:]
    out.extend(inner)


def _compact(entry: Entry, indent: int) -> bool:
    """Whether a sequence item's collection starts on the dash's line (`- key: v`)."""
    value = entry.value
    return (entry.key is None and isinstance(value, Collection) and bool(value.entries)
            and not _props(value) and _inline(value, WIDTH - indent - len("- ")) is None)


def _hoist(entry: Entry, indent: int) -> None:
    """Move the comments of the entries that share a compact item's line (`- - key: v`)
    above it, keeping one end-of-line comment on the line itself."""
    eols: list[str] = []
    current = entry
    while _compact(current, indent):
        assert isinstance(current.value, Collection)
        child = current.value.entries[0]
        entry.head.extend(line for line in child.head if line)
        child.head = []
        if current.eol is not None:
            eols.append(current.eol)
            current.eol = None
        current, indent = child, indent + INDENT
    if current.eol is not None:
        eols.append(current.eol)
    current.eol = eols.pop() if eols else None
    entry.head.extend(eols)


def _value(out: list[str], start: str, node: Node, indent: int, eol: str | None) -> None:
    tail = f"  {eol}" if eol else ""
    props = _props(node)
    if isinstance(node, Collection):
        inline = _inline(node, WIDTH - len(_join(start, props)) - 1)
        if inline is not None:
            out.append(_join(start, props, inline) + tail)
            return
        out.append(_join(start, props) + tail)
        _block(out, node, indent)
        return
    if isinstance(node, Alias):
        out.append(_join(start, f"*{node.anchor}") + tail)
        return
    if node.style == "" and node.value == "":
        out.append(_join(start, props) + tail)
        return
    text = scalars.render(node)
    out.append(_join(start, props, text.inline) + tail)
    for line in text.lines or ():
        out.append(" " * indent + line if line else "")


def _inline(node: Collection, room: int) -> str | None:
    """The collection on one line (`[]`, `{}`, `[a, b]`), or None to write it as a block."""
    if not node.entries:
        return "{}" if node.kind == "map" else "[]"
    if node.kind != "seq" or not node.flow or node.commented:
        return None
    parts = []
    for entry in node.entries:
        value = entry.value
        if not isinstance(value, Scalar) or _props(value) or entry.head or entry.eol:
            return None
        part = scalars.render(value, flow=True, block=False).inline
        if not part:
            return None
        parts.append(part)
    text = "[" + ", ".join(parts) + "]"
    return text if len(text) <= room else None


def _single(node: Node, room: int) -> str:
    if isinstance(node, Alias):
        return f"*{node.anchor}"
    if isinstance(node, Collection):
        return _inline(node, room) or ""
    return scalars.render(node, block=False).inline


def _key(key: Scalar) -> str:
    if key.style == "" and key.value == "":
        return "~"
    return scalars.render(key, block=False).inline


def _props(node: Node) -> str:
    if isinstance(node, Alias):
        return ""
    return _join("", f"&{node.anchor}" if node.anchor else "", node.tag or "")


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _comments(out: list[str], lines: list[str], indent: int, *, leading: bool) -> None:
    """Comment lines at `indent`; a run of blank lines becomes one, and a blank line at the
    start is kept only when `leading`."""
    previous = None if leading else ""
    for line in lines:
        if not line and previous == "":
            continue
        out.append(" " * indent + line if line else "")
        previous = line
