"""What the template parser reports, and the error that ends the action being parsed.

``TemplateProblem`` is the public result; ``_Abort`` and ``_unexpected`` are how the parser
gives up on one action, with Go's wording, before resuming at the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from converge.compiler.gotemplate.literals import _go_quote
from converge.compiler.gotemplate.scanner import _Kind, _Token


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One reason Go's template parser rejects a template; ``offset`` is 0-based in the text."""

    message: str
    offset: int


class _Abort(Exception):
    """Ends the current action, like an error panic in Go's parser."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _unexpected(token: _Token, context: str) -> _Abort:
    """Go's ``unexpected``: a lexical error as it is, anything else as out of place."""
    if token.kind is _Kind.ERROR:
        return _Abort(token.value, token.offset)
    return _Abort(f"unexpected {_describe(token)} in {context}", token.offset)


def _describe(token: _Token) -> str:
    """A token the way Go's ``item.String`` prints it."""
    if token.kind is _Kind.EOF:
        return "EOF"
    if token.kind in (_Kind.KEYWORD, _Kind.NIL, _Kind.DOT):
        return f"<{token.value}>"
    if len(token.value) > 10:
        return _go_quote(token.value[:10]) + "..."
    return _go_quote(token.value)
