"""Go's text/template lexer, resuming after lexical errors.

Turns a template into the token list the parser and ``label_references`` walk. It follows
``text/template/parse/lex.go`` rule for rule, so that error messages and offsets match Go's.
"""

from __future__ import annotations

from collections.abc import Callable

from converge.compiler.gotemplate.literals import _go_quote, _go_rune
from converge.compiler.gotemplate.scanner import (
    _DECIMAL,
    _EXPONENTS,
    _KEYWORDS,
    _PREFIXED_DIGITS,
    _SPACES,
    _is_alphanumeric,
    _Kind,
    _LexError,
    _Scanner,
    _Token,
)


class _Lexer(_Scanner):
    """Go's template lexer (``text/template/parse/lex.go``) with the default delimiters.

    Go stops at the first lexical error; this lexer emits an ERROR token, then a RIGHT_DELIM
    at the next ``}}`` (if any) and goes on, so that later actions are still checked.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._handlers: dict[str, Callable[[int, list[int]], int]] = {
            "=": self._assign,
            "|": self._pipe,
            ":": self._declare,
            '"': self._string,
            "'": self._char_constant,
            "`": self._raw_string,
            "$": self._variable,
            ".": self._dot,
            "(": self._left_paren,
            ")": self._right_paren,
        }

    def run(self) -> list[_Token]:
        """Tokenize the whole text; the last token is always EOF."""
        text = self.text
        position: int | None = 0
        while position is not None:
            start = text.find("{{", position)
            if start < 0:
                if position < len(text):
                    self._emit(_Kind.TEXT, position, len(text))
                break
            if start > position:
                self._emit(_Kind.TEXT, position, start)
            position = self._delimited(start)
        self.tokens.append(_Token(_Kind.EOF, "", offset=len(text)))
        return self.tokens

    def _delimited(self, start: int) -> int | None:
        """Lex a comment or an action starting with the ``{{`` at ``start``."""
        inner = start + 2
        if self.text.startswith("-", inner) and self._is_space(inner + 1):  # "{{- " trims.
            inner += 2
        if self.text.startswith("/*", inner):
            return self._comment(start, inner)
        self._emit(_Kind.LEFT_DELIM, start, start + 2)
        return self._action(start, inner)

    def _comment(self, start: int, inner: int) -> int | None:
        close = self.text.find("*/", inner + 2)
        if close < 0:
            self._error("unclosed comment", start)
            return None
        end = close + 2
        length = self._right_delim_length(end)
        if not length:
            self._error("comment ends before closing delimiter", end)
            return self._resync(end)
        self._emit(_Kind.COMMENT, start, end + length)
        return end + length

    def _action(self, start: int, position: int) -> int | None:
        parens: list[int] = []  # Offsets of the open parentheses.
        while True:
            length = self._right_delim_length(position)
            if length:
                if parens:
                    self._error("unclosed left paren", parens[-1])
                end = position + length
                self._emit(_Kind.RIGHT_DELIM, end - 2, end)
                return end
            if position >= len(self.text):
                self._error("unclosed action", start)
                return None
            try:
                position = self._action_token(position, parens)
            except _LexError as error:
                self._error(error.message, error.offset)
                return self._resync(error.resume)

    def _action_token(self, position: int, parens: list[int]) -> int:
        char = self.text[position]
        handler = self._handlers.get(char)
        if handler is not None:
            return handler(position, parens)
        if char in _SPACES:
            return self._space(position)
        if char in "+-" or "0" <= char <= "9":
            return self._number(position)
        if _is_alphanumeric(char):
            return self._identifier(position)
        if " " <= char <= "~":
            self._emit(_Kind.CHAR, position, position + 1)
            return position + 1
        message = f"unrecognized character in action: {_go_rune(char)}"
        raise _LexError(message, position, resume=position + 1)

    def _single(self, kind: _Kind, position: int) -> int:
        self._emit(kind, position, position + 1)
        return position + 1

    def _assign(self, position: int, parens: list[int]) -> int:
        return self._single(_Kind.ASSIGN, position)

    def _pipe(self, position: int, parens: list[int]) -> int:
        return self._single(_Kind.PIPE, position)

    def _declare(self, position: int, parens: list[int]) -> int:
        if not self.text.startswith("=", position + 1):
            raise _LexError("expected :=", position, resume=position + 1)
        self._emit(_Kind.DECLARE, position, position + 2)
        return position + 2

    def _left_paren(self, position: int, parens: list[int]) -> int:
        parens.append(position)
        return self._single(_Kind.LEFT_PAREN, position)

    def _right_paren(self, position: int, parens: list[int]) -> int:
        # Go's lexer fails on an unmatched ")" only after emitting it, and the parser always
        # rejects that token first ("unexpected ")" in command"), so no error is needed here.
        if parens:
            parens.pop()
        return self._single(_Kind.RIGHT_PAREN, position)

    def _space(self, position: int) -> int:
        end = self._accept_run(position, _SPACES)
        if self._right_delim_length(end - 1) == 4:  # The last space belongs to " -}}".
            end -= 1
        if end > position:
            self._emit(_Kind.SPACE, position, end)
        return end

    def _quoted(self, position: int, *, quote: str, kind: _Kind, message: str) -> int:
        text = self.text
        end = position + 1
        while True:
            if end >= len(text) or text[end] == "\n":
                raise _LexError(message, position, resume=position + 1)
            char = text[end]
            if char == "\\":
                if end + 1 >= len(text) or text[end + 1] == "\n":
                    raise _LexError(message, position, resume=position + 1)
                end += 2
                continue
            end += 1
            if char == quote:
                self._emit(kind, position, end)
                return end

    def _string(self, position: int, parens: list[int]) -> int:
        return self._quoted(
            position, quote='"', kind=_Kind.STRING, message="unterminated quoted string"
        )

    def _char_constant(self, position: int, parens: list[int]) -> int:
        return self._quoted(
            position,
            quote="'",
            kind=_Kind.CHAR_CONSTANT,
            message="unterminated character constant",
        )

    def _raw_string(self, position: int, parens: list[int]) -> int:
        close = self.text.find("`", position + 1)
        if close < 0:
            raise _LexError("unterminated raw quoted string", position, resume=position + 1)
        self._emit(_Kind.RAW_STRING, position, close + 1)
        return close + 1

    def _variable(self, position: int, parens: list[int]) -> int:
        return self._field_or_variable(position, _Kind.VARIABLE)

    def _dot(self, position: int, parens: list[int]) -> int:
        if "0" <= self.text[position + 1 : position + 2] <= "9":  # ".5" is a number.
            return self._number(position)
        return self._field_or_variable(position, _Kind.FIELD)

    def _field_or_variable(self, position: int, kind: _Kind) -> int:
        end = position + 1
        if self._at_terminator(end):  # A bare "$" or ".".
            self._emit(_Kind.VARIABLE if kind is _Kind.VARIABLE else _Kind.DOT, position, end)
            return end
        end = self._word_end(end)
        self._emit(kind, position, end)
        return end

    def _identifier(self, position: int) -> int:
        end = self._word_end(position)
        word = self.text[position:end]
        if word in _KEYWORDS:
            kind = _Kind.KEYWORD
        elif word == "nil":
            kind = _Kind.NIL
        elif word in ("true", "false"):
            kind = _Kind.BOOL
        else:
            kind = _Kind.IDENTIFIER
        self._emit(kind, position, end)
        return end

    def _word_end(self, position: int) -> int:
        end = position
        while end < len(self.text) and _is_alphanumeric(self.text[end]):
            end += 1
        if not self._at_terminator(end):
            raise _LexError(f"bad character {_go_rune(self.text[end])}", end, resume=end)
        return end

    def _number(self, position: int) -> int:
        kind = _Kind.NUMBER
        end, ok = self._scan_number(position)
        if ok and self.text[end : end + 1] in ("+", "-"):  # A complex number such as 1+2i.
            kind = _Kind.COMPLEX
            end, ok = self._scan_number(end)
            ok = ok and self.text[end - 1] == "i"
        if not ok:
            message = f"bad number syntax: {_go_quote(self.text[position:end])}"
            raise _LexError(message, position, resume=end)
        self._emit(kind, position, end)
        return end

    def _scan_number(self, position: int) -> tuple[int, bool]:
        """Go's ``scanNumber``: the end of the number and whether no letter follows it."""
        text = self.text
        end = self._accept(position, "+-")
        digits = _DECIMAL
        if text.startswith("0", end):
            end += 1
            prefix = text[end : end + 1].lower()
            if prefix in _PREFIXED_DIGITS:
                digits = _PREFIXED_DIGITS[prefix]
                end += 1
        end = self._accept_run(end, digits)
        if text.startswith(".", end):
            end = self._accept_run(end + 1, digits)
        exponent = _EXPONENTS.get(digits, "")
        if exponent and self._accept(end, exponent) > end:
            end = self._accept_run(self._accept(end + 1, "+-"), "0123456789_")
        end = self._accept(end, "i")
        if end < len(text) and _is_alphanumeric(text[end]):
            return end + 1, False
        return end, True
