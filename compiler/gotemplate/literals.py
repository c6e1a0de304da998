"""Go's string, character and number literal rules, as ``strconv`` applies them.

The lexer and the parser quote text the way Go's ``%q`` and ``%#U`` do in their messages, and
check literals the way ``strconv`` would; these helpers keep that apart from the grammar.
"""

from __future__ import annotations

from typing import Final

from converge.compiler.gotemplate.scanner import _Kind, _Token

_GO_ESCAPES: Final = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    '"': '\\"', "\\": "\\\\",
}  # fmt: skip
_SIMPLE_UNESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
}  # fmt: skip
_HEX_ESCAPE_SIZES: Final = {"x": 2, "u": 4, "U": 8}
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


def _go_quote(text: str) -> str:
    """``text`` as Go's ``%q`` (``strconv.Quote``) writes it."""
    parts = ['"']
    for char in text:
        if char in _GO_ESCAPES:
            parts.append(_GO_ESCAPES[char])
        elif char.isprintable():
            parts.append(char)
        elif ord(char) < 0x80:
            parts.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(f"\\U{ord(char):08x}")
    parts.append('"')
    return "".join(parts)


def _go_rune(char: str) -> str:
    """``char`` as Go's ``%#U`` writes it, e.g. ``U+002D '-'``."""
    code = f"U+{ord(char):04X}"
    return f"{code} '{char}'" if char.isprintable() else code


def _unquote_char(text: str, position: int, *, quote: str) -> tuple[str, int] | None:
    """Go's ``strconv.UnquoteChar``: the character at ``position`` and where the next starts."""
    char = text[position : position + 1]
    if not char or char == quote:
        return None
    if char != "\\":
        return char, position + 1
    escape = text[position + 1 : position + 2]
    if escape in _SIMPLE_UNESCAPES:
        return _SIMPLE_UNESCAPES[escape], position + 2
    if escape in ("'", '"'):
        return (escape, position + 2) if escape == quote else None
    if escape in _HEX_ESCAPE_SIZES:
        end = position + 2 + _HEX_ESCAPE_SIZES[escape]
        digits = text[position + 2 : end]
        if len(digits) != end - position - 2 or not _HEX_DIGITS.issuperset(digits):
            return None
        value = int(digits, 16)
        if escape != "x" and (value > 0x10FFFF or 0xD800 <= value <= 0xDFFF):
            return None
        return chr(value), end
    digits = text[position + 1 : position + 4]
    if len(digits) == 3 and set(digits) <= set("01234567") and int(digits, 8) <= 0xFF:
        return chr(int(digits, 8)), position + 4
    return None


def _go_unquote(literal: str) -> str | None:
    """Go's ``strconv.Unquote`` for a string literal, or None when it is malformed."""
    quote = literal[:1]
    if len(literal) < 2 or literal[-1] != quote:
        return None
    body = literal[1:-1]
    if quote == "`":
        return None if "`" in body else body.replace("\r", "")
    if quote != '"':
        return None
    chars: list[str] = []
    position = 0
    while position < len(body):
        decoded = _unquote_char(body, position, quote=quote)
        if decoded is None:
            return None
        chars.append(decoded[0])
        position = decoded[1]
    return "".join(chars)


def _number_problem(token: _Token) -> str | None:
    """Why Go's ``newNumber`` rejects a number, complex or character constant, if it does."""
    text = token.value
    if token.kind is _Kind.CHAR_CONSTANT:
        decoded = _unquote_char(text, 1, quote="'")
        if decoded is None:
            return "invalid syntax"
        return None if text[decoded[1] :] == "'" else f"malformed character constant: {text}"
    if token.kind is _Kind.COMPLEX:
        try:
            complex(text.replace("_", "")[:-1] + "j")
        except ValueError:
            return f"illegal number syntax: {_go_quote(text)}"
        return None
    if text.endswith("i") and _go_float(text[:-1]) is not None:  # Imaginary.
        return None
    if _go_int(text) is not None:
        return None
    if _go_float(text) is None:
        return f"illegal number syntax: {_go_quote(text)}"
    if not any(char in text for char in ".eEpP"):  # An integer too large for 64 bits.
        return f"integer overflow: {_go_quote(text)}"
    return None


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt``/``ParseUint`` with base 0, or None if neither accepts ``text``."""
    negative = text.startswith("-")
    digits = text[1:] if text.startswith(("+", "-")) else text
    try:
        value = int(digits, 0)
    except ValueError:
        if not digits.startswith("0") or not set(digits) <= set("01234567_"):
            return None
        try:
            value = int(digits, 8)  # Go's legacy octal, "0755".
        except ValueError:
            return None
    value = -value if negative else value
    return value if -(2**63) <= value < 2**64 else None


def _go_float(text: str) -> float | None:
    """``strconv.ParseFloat``, or None if it rejects ``text``."""
    digits = text[1:] if text.startswith(("+", "-")) else text
    try:
        if digits[:2] in ("0x", "0X"):
            # Go insists on a "p" exponent in hexadecimal floats.
            return float.fromhex(text.replace("_", "")) if "p" in digits.lower() else None
        return float(text)
    except ValueError:
        return None
