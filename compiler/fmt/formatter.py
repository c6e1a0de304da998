"""`format_text`: a spec file in the one canonical style, every comment kept.

Pure: text in, text out. The text is read with the compiler's own loader first, so a
file `converge check` cannot read is refused with the same positioned diagnostics, and
read again after formatting: if the two readings differ in any value, the result is
refused (`MeaningChanged`, a bug) rather than returned, so `fmt` can never change what a
spec means; the same holds for losing a comment.
"""

from __future__ import annotations

import math
from typing import Any

from converge.compiler import loader
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.fmt import comments, emit, order, tree


class FormatError(Exception):
    """The text is not YAML the compiler can read; `diagnostics` say where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(f"{d.line}:{d.column}: {d.message}" for d in diagnostics))
        self.diagnostics = diagnostics


class MeaningChanged(Exception):
    """Formatting would have changed a value: a bug in `fmt`, never a user error."""


def format_text(text: str, *, path: str = "<text>") -> str:
    """`text` in canonical style.

    Raises:
        FormatError: the text is not valid YAML (or has duplicate keys).
        MeaningChanged: the formatted text would read differently (a bug).
    """
    before = _read(text, path)
    lines = loader.split_lines(before.text)
    parsed = tree.parse(before.text, lines)
    stream_head = comments.attach(parsed)
    for document in parsed.documents:
        order.order_document(document)
    kept = sorted(comments.found(parsed))
    result = emit.emit(parsed.documents, stream_head)
    try:
        after = _read(result, path)
    except FormatError as error:
        raise MeaningChanged(f"{path}: the formatted text does not parse: {error}") from None
    if not same([d.body for d in before.documents], [d.body for d in after.documents]):
        raise MeaningChanged(f"{path}: formatting would change a value")
    lines = loader.split_lines(after.text)
    if sorted(comments.found(tree.parse(after.text, lines))) != kept:
        raise MeaningChanged(f"{path}: formatting would lose a comment")
    return result


def _read(text: str, path: str) -> loader.LoadedFile:
    loaded = loader.load(path, text.encode("utf-8", "surrogatepass"))
    errors = [d for d in loaded.diagnostics if d.severity is Severity.ERROR]
    if errors:
        raise FormatError(errors)
    return loaded


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (`1` is not `True`, NaN equals NaN), in any key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        keys = {(type(k), repr(k)) for k in a}
        return keys == {(type(k), repr(k)) for k in b} and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)
