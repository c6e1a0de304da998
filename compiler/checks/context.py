"""What every check receives besides the model: one way to make a positioned diagnostic."""

from __future__ import annotations

import dataclasses
import re

from converge.compiler import loader
from converge.compiler.diagnostics import Diagnostic, Severity, Span
from converge.compiler.model import Model, Origin


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """The model being checked and the source texts, for positions inside values."""

    model: Model
    texts: dict[str, str]

    def diag(self, origin: Origin, code: str, message: str, *, hint: str = "",
             severity: Severity = Severity.ERROR, key: bool = False) -> Diagnostic:
        """A diagnostic at the node `origin` points to (its key with `key=True`)."""
        span = origin.document.locate(origin.path, key=key)
        return Diagnostic(origin.document.path, span, code, severity, message, hint)

    def diag_in_value(self, origin: Origin, offset: int, code: str, message: str, *,
                      hint: str = "", value: str | None = None,
                      severity: Severity = Severity.ERROR) -> Diagnostic:
        """A diagnostic at character `offset` inside the string value at `origin`.

        The offset is mapped through the source text, so it lands on the right line and
        column for plain, quoted and block (`|`, `>`) scalars alike; where the value's
        text cannot be found in the source, the value's own position is used.
        """
        document = origin.document
        span = document.locate(origin.path)
        text = self.texts.get(document.path)
        if text is not None and value is not None:
            found = _locate_in_source(text, span, value, offset)
            if found is not None:
                span = found
        return Diagnostic(document.path, span, code, severity, message, hint)


def _locate_in_source(text: str, span: Span, value: str, offset: int) -> Span | None:
    index = loader.line_index(text)
    start = index.offset(span.line, span.column)
    end = index.offset(span.end_line, span.end_column)
    if start is None or end is None:
        return None
    region = text[start:end]
    if region[:1] in ('"', "'"):
        raw = _quoted_index(region, offset)
        if raw is None:
            return None
        line, column = index.line_column(start + raw)
        return Span.point(line, column)
    prefix_lines = value[:offset].split("\n")
    line_text = value.split("\n")[len(prefix_lines) - 1]
    column_in_line = len(prefix_lines[-1])
    # find the value's line within the region (block scalars indent it, quotes shift it)
    cursor = 0
    for value_line in value.split("\n")[: len(prefix_lines) - 1]:
        found = region.find(value_line.strip(), cursor) if value_line.strip() else -1
        if found >= 0:
            cursor = found + len(value_line.strip())
    anchor = line_text.lstrip()
    stripped = len(line_text) - len(anchor)
    found = region.find(anchor, cursor) if anchor else -1
    if found < 0:
        return None
    absolute = start + found + max(0, column_in_line - stripped)
    line, column = index.line_column(absolute)
    return Span.point(line, column)


_ESCAPE_WIDTHS = {"x": 2, "u": 4, "U": 8}
_PLAIN_DOUBLE = re.compile(r'[^"\\\r\n]+')
_PLAIN_SINGLE = re.compile(r"[^'\r\n]+")


def _quoted_index(region: str, offset: int) -> int | None:
    """The index in a quoted scalar's source of the `offset`-th character of its value."""
    double = region[0] == '"'
    plain = _PLAIN_DOUBLE if double else _PLAIN_SINGLE
    position, decoded = 1, 0
    while position < len(region):
        if decoded == offset:
            return position
        run = plain.match(region, position)
        if run is not None:  # characters that stand for themselves, skipped at once
            length = run.end() - position
            if offset - decoded < length and offset > decoded:
                return position + offset - decoded
            position, decoded = run.end(), decoded + length
            continue
        char = region[position]
        if char == region[0] and not (not double and region[position + 1:position + 2] == "'"):
            return None  # the closing quote: the offset lies beyond the value
        if double and char == "\\":
            following = region[position + 1:position + 2]
            if following in ("\n", "\r"):  # an escaped line break joins the lines
                position += 2
                while position < len(region) and region[position] in " \t":
                    position += 1
                continue
            position += 2 + _ESCAPE_WIDTHS.get(following, 0)
        elif not double and char == "'":
            position += 2  # '' stands for one quote
        elif char in "\r\n":  # a folded line break is one space in the value
            position += 1
            while position < len(region) and region[position] in " \t\r\n":
                position += 1
        else:
            position += 1
        decoded += 1
    return None

