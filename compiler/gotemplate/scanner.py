"""Tokens, and the character-level helpers the template lexer is built on.

The token kinds are shared by the lexer, the parser and the label-reference scanner; the
``_Scanner`` base holds the small cursor operations over the text so that ``lexer.py`` can
hold only the rules of Go's lexer.
"""

from __future__ import annotations

import enum
from dataclasses import KW_ONLY, dataclass
from typing import Final


class _Kind(enum.Enum):
    """Token kinds, after Go's ``itemType``."""

    TEXT = enum.auto()
    COMMENT = enum.auto()
    LEFT_DELIM = enum.auto()
    RIGHT_DELIM = enum.auto()
    SPACE = enum.auto()
    ASSIGN = enum.auto()
    DECLARE = enum.auto()
    PIPE = enum.auto()
    CHAR = enum.auto()  # A lone printable ASCII character such as ",".
    STRING = enum.auto()
    RAW_STRING = enum.auto()
    CHAR_CONSTANT = enum.auto()
    NUMBER = enum.auto()
    COMPLEX = enum.auto()
    BOOL = enum.auto()
    IDENTIFIER = enum.auto()
    FIELD = enum.auto()
    VARIABLE = enum.auto()
    DOT = enum.auto()
    KEYWORD = enum.auto()
    NIL = enum.auto()
    LEFT_PAREN = enum.auto()
    RIGHT_PAREN = enum.auto()
    ERROR = enum.auto()  # The value is the message.
    EOF = enum.auto()


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    value: str
    _: KW_ONLY
    offset: int


class _LexError(Exception):
    """A lexical error inside an action; lexing resumes after the next ``}}`` from ``resume``."""

    def __init__(self, message: str, offset: int, *, resume: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.resume = resume


_SPACES: Final = " \t\r\n"
_TERMINATORS: Final = _SPACES + ".,|:)("
_KEYWORDS: Final = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
)  # fmt: skip
_DECIMAL: Final = "0123456789_"
_PREFIXED_DIGITS: Final = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}
_EXPONENTS: Final = {_DECIMAL: "eE", _PREFIXED_DIGITS["x"]: "pP"}


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdecimal()


class _Scanner:
    """The text being lexed, the tokens so far and the cursor helpers over both."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Token] = []

    def _emit(self, kind: _Kind, start: int, end: int) -> None:
        self.tokens.append(_Token(kind, self.text[start:end], offset=start))

    def _error(self, message: str, offset: int) -> None:
        self.tokens.append(_Token(_Kind.ERROR, message, offset=offset))

    def _resync(self, position: int) -> int | None:
        end = self.text.find("}}", position)
        if end < 0:
            return None
        self._emit(_Kind.RIGHT_DELIM, end, end + 2)
        return end + 2

    def _accept(self, position: int, chars: str) -> int:
        """Past the character at ``position`` if it is one of ``chars``."""
        text = self.text
        return position + 1 if position < len(text) and text[position] in chars else position

    def _accept_run(self, position: int, chars: str) -> int:
        """Past the run of ``chars`` at ``position``."""
        while position < len(self.text) and self.text[position] in chars:
            position += 1
        return position

    def _is_space(self, position: int) -> bool:
        return position < len(self.text) and self.text[position] in _SPACES

    def _right_delim_length(self, position: int) -> int:
        """4 at `` -}}``, 2 at ``}}``, else 0."""
        if self.text.startswith("}}", position):
            return 2
        if self._is_space(position) and self.text.startswith("-}}", position + 1):
            return 4
        return 0

    def _at_terminator(self, position: int) -> bool:
        """Whether an identifier, field or variable may end here (Go's ``atTerminator``)."""
        text = self.text
        return (
            position >= len(text)
            or text[position] in _TERMINATORS
            or text.startswith("}}", position)
        )
