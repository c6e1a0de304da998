"""The parser's walk over the tokens, and how it records problems and resumes.

Both the pipeline parser and the control-structure parser build on this cursor: it peeks and
consumes tokens, reports problems and skips the rest of an action after an error.
"""

from __future__ import annotations

from collections.abc import Callable

from converge.compiler.gotemplate.problems import TemplateProblem, _Abort, _unexpected
from converge.compiler.gotemplate.scanner import _Kind, _Token


class _Cursor:
    """A position in a token list, with the problems found so far."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.action = 0  # Token index where the action being parsed starts.
        self.problems: list[TemplateProblem] = []

    # Tokens.

    def _peek(self) -> _Token:
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def _next(self) -> _Token:
        token = self._peek()
        self.index += 1
        return token

    def _backup(self) -> None:
        self.index -= 1

    def _skip_spaces(self) -> None:
        while self._peek().kind is _Kind.SPACE:
            self.index += 1

    def _next_non_space(self) -> _Token:
        self._skip_spaces()
        return self._next()

    def _peek_non_space(self) -> _Token:
        self._skip_spaces()
        return self._peek()

    def _expect(self, kind: _Kind, context: str) -> _Token:
        token = self._next_non_space()
        if token.kind is not kind:
            raise _unexpected(token, context)
        return token

    # Problems.

    def _report(self, message: str, offset: int) -> None:
        self.problems.append(TemplateProblem(message, offset))

    def _skip_action(self) -> None:
        """Move past the current action's ``}}``, reporting lexical errors on the way."""
        end = self.action
        while self.tokens[end].kind not in (_Kind.RIGHT_DELIM, _Kind.EOF):
            end += 1
        if end < self.index:  # Its "}}" is already behind us.
            return
        for token in self.tokens[self.index : end]:
            if token.kind is _Kind.ERROR:
                self._report(token.value, token.offset)
        self.index = end + 1 if self.tokens[end].kind is _Kind.RIGHT_DELIM else end

    def _recover(self, error: _Abort) -> None:
        self._report(error.message, error.offset)
        self._skip_action()

    def _guard(self, parse: Callable[[], object]) -> None:
        try:
            parse()
        except _Abort as error:
            self._recover(error)
