"""Text from specs never drives a terminal: control characters are shown, not obeyed.

A spec file can hold an escape sequence (`\\x1b]0;…`, `\\x1b[2J`, a C1 control, a
bidirectional override) in a name, a value, a comment or a file name; echoed raw by
`converge check`, `diff` or `test`, it would retitle, clear or rewrite the reader's
terminal, or show text that is not there. Every human output passes what it echoes
through `visible`, which writes each such character as `\\xNN` / `\\uNNNN`.
"""

from __future__ import annotations

import re

_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f{_OTHERS}]")


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def visible(text: str) -> str:
    """`text` with every control character (but tab and newline) written as an escape."""
    return _UNSAFE.sub(_shown, text)


def visible_line(text: str) -> str:
    """One line: `visible`, and tabs and newlines escaped too."""
    return _UNSAFE_LINE.sub(_shown, text)
