"""Values from specs enter YAML only through here: quoted so any string survives a load.

`quote` returns a `YamlText` (a `str` subclass); the template environment refuses to
output anything else, so a template cannot forget to escape a spec value.
"""

from __future__ import annotations

import math
import re
from typing import Any

_PRINTABLE = re.compile(  # without U+2028/U+2029, which YAML reads as line breaks
    "^[\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufeff\ufff0-\ufffd"
    "\U00010000-\U0010ffff]*$"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


class YamlText(str):
    """Text that is already valid YAML (a quoted scalar, a number, a block)."""

    __slots__ = ()


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF) or (
            0xD800 <= code <= 0xDFFF) or code in (0xFFFE, 0xFFFF):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]')


def quote(value: Any) -> YamlText:
    """A YAML scalar for any spec value: strings double-quoted, numbers and booleans bare."""
    if isinstance(value, YamlText):
        return value
    if value is None:
        return YamlText("null")
    if isinstance(value, bool):
        return YamlText("true" if value else "false")
    if isinstance(value, int):
        return YamlText(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return YamlText(".nan")
        if math.isinf(value):
            return YamlText(".inf" if value > 0 else "-.inf")
        mantissa, exponent, power = repr(value).partition("e")
        if exponent and "." not in mantissa:  # 1e+16: YAML 1.1 floats need a dot
            mantissa += ".0"
        return YamlText(mantissa + exponent + power)
    text = str(value)
    if _NEEDS_ESCAPE.search(text) is None:
        return YamlText(f'"{text}"')
    return YamlText('"' + _NEEDS_ESCAPE.sub(lambda m: _escape_char(m.group(0)), text) + '"')


def block(value: str, indent: int) -> YamlText:
    """A multi-line string as a literal block (`|`), or quoted where a block cannot hold it.

    Block scalars read better in review, so expressions and templates spanning lines use
    them whenever the text survives a load unchanged: printable characters only, no
    carriage returns, and no line that starts with spaces before the first non-empty one.
    """
    if "\n" not in value or not value.replace("\n", "").replace("\t", "").isprintable():
        return quote(value)  # isprintable() is stricter than YAML: doubtful text is quoted
    lines = value.split("\n")
    body = value.rstrip("\n")
    trailing = len(value) - len(body)
    if not body.strip() or body.lstrip("\n").startswith((" ", "\t")) or any(
            line.startswith("\t") for line in lines) or any(
            line != line.rstrip(" \t") and not line.strip() for line in lines):
        return quote(value)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    pad = " " * indent
    text_lines = value.split("\n")
    if trailing:
        text_lines = text_lines[:-1]
    rendered = "\n".join(pad + line if line else "" for line in text_lines)
    return YamlText(f"|{chomp}\n{rendered}")
