"""Parsing of pipelines: declarations, commands and operands, with Go's checks on them.

Split from the control structures in ``parser.py`` because pipelines are where functions and
variables are looked up and where literals are checked.
"""

from __future__ import annotations

import enum
from typing import Final

from converge.compiler.gotemplate.cursor import _Cursor
from converge.compiler.gotemplate.literals import _go_quote, _go_unquote, _number_problem
from converge.compiler.gotemplate.problems import _Abort, _unexpected
from converge.compiler.gotemplate.scanner import _Kind, _Token


class _Node(enum.Enum):
    """The kinds of operand Go's parser tells apart in its checks."""

    BOOL = enum.auto()
    DOT = enum.auto()
    NIL = enum.auto()
    NUMBER = enum.auto()
    STRING = enum.auto()
    IDENTIFIER = enum.auto()
    FIELD = enum.auto()
    VARIABLE = enum.auto()
    CHAIN = enum.auto()
    PIPELINE = enum.auto()


#: Operands that cannot start a later pipeline stage or take a ``.Field``.
_LITERALS: Final = frozenset({_Node.BOOL, _Node.DOT, _Node.NIL, _Node.NUMBER, _Node.STRING})
_SIMPLE_TERMS: Final = {
    _Kind.DOT: _Node.DOT, _Kind.BOOL: _Node.BOOL, _Kind.FIELD: _Node.FIELD, _Kind.NIL: _Node.NIL
}  # fmt: skip
_OPERAND_STARTS: Final = frozenset(
    {
        _Kind.BOOL, _Kind.CHAR_CONSTANT, _Kind.COMPLEX, _Kind.DOT, _Kind.FIELD, _Kind.IDENTIFIER,
        _Kind.NUMBER, _Kind.NIL, _Kind.RAW_STRING, _Kind.STRING, _Kind.VARIABLE,
        _Kind.LEFT_PAREN,
    }
)  # fmt: skip


class _PipelineParser(_Cursor):
    """Go's pipeline parsing (``text/template/parse/parse.go``) with the names in scope."""

    def __init__(
        self, tokens: list[_Token], *, functions: frozenset[str], variables: tuple[str, ...]
    ) -> None:
        super().__init__(tokens)
        self.functions = functions
        self.variables = ["$", *variables]

    def _pipeline(self, context: str, end: _Kind) -> None:
        """Declarations, then commands separated by ``|``, then ``end`` (``}}`` or ``)``)."""
        self._declarations(context)
        commands: list[tuple[_Node, int]] = []
        while True:
            token = self._next_non_space()
            if token.kind is end:
                break
            if token.kind not in _OPERAND_STARTS:
                raise _unexpected(token, context)
            self._backup()
            commands.append(self._command())
        if not commands:
            raise _Abort(f"missing value for {context}", token.offset)
        for stage, (first, offset) in enumerate(commands[1:], start=2):
            if first in _LITERALS:
                raise _Abort(f"non executable command in pipeline stage {stage}", offset)

    def _declarations(self, context: str) -> None:
        """``$x :=``, ``$x =`` or, in a range, ``$i, $e :=`` at the start of a pipeline."""
        declared = 0
        while (variable := self._peek_non_space()).kind is _Kind.VARIABLE:
            start = self.index
            self._next()
            following = self._peek_non_space()
            if following.kind in (_Kind.ASSIGN, _Kind.DECLARE):
                self._next()
                if following.kind is _Kind.ASSIGN and variable.value not in self.variables:
                    self._report(f"undefined variable {_go_quote(variable.value)}", variable.offset)
                self.variables.append(variable.value)
                return
            if following.kind is not _Kind.CHAR or following.value != ",":
                self.index = start  # Not a declaration: "$x" is an operand.
                return
            self._next()
            self.variables.append(variable.value)
            declared += 1
            if context != "range" or declared >= 2:
                raise _Abort(f"too many declarations in {context}", following.offset)
            after = self._peek_non_space()
            if after.kind not in (_Kind.VARIABLE, _Kind.RIGHT_DELIM, _Kind.RIGHT_PAREN):
                raise _Abort("range can only initialize variables", after.offset)

    def _command(self) -> tuple[_Node, int]:
        """Operands up to ``|``, ``}}`` or ``)``: the first one's kind and the offset."""
        self._skip_spaces()
        offset = self._peek().offset
        first: _Node | None = None
        while True:
            self._skip_spaces()
            operand = self._operand()
            first = first or operand
            token = self._next()
            if token.kind is _Kind.SPACE:
                continue
            if token.kind in (_Kind.RIGHT_DELIM, _Kind.RIGHT_PAREN):
                self._backup()
            elif token.kind is not _Kind.PIPE:
                raise _unexpected(token, "operand")
            break
        if first is None:
            raise _Abort("empty command", offset)
        return first, offset

    def _operand(self) -> _Node | None:
        """A term followed by any ``.Field`` accesses."""
        start = self._peek()
        term = self._term()
        if term is None or self._peek().kind is not _Kind.FIELD:
            return term
        offset = self._peek().offset
        while self._peek().kind is _Kind.FIELD:
            self._next()
        if term in (_Node.FIELD, _Node.VARIABLE):
            return term
        if term in _LITERALS:
            raise _Abort(f"unexpected . after term {_go_quote(start.value)}", offset)
        return _Node.CHAIN

    def _term(self) -> _Node | None:
        token = self._next_non_space()
        kind = token.kind
        if kind is _Kind.IDENTIFIER:
            if token.value not in self.functions:
                raise _Abort(f"function {_go_quote(token.value)} not defined", token.offset)
            return _Node.IDENTIFIER
        if kind is _Kind.VARIABLE:
            if token.value not in self.variables:
                raise _Abort(f"undefined variable {_go_quote(token.value)}", token.offset)
            return _Node.VARIABLE
        if kind in (_Kind.NUMBER, _Kind.COMPLEX, _Kind.CHAR_CONSTANT):
            problem = _number_problem(token)
            if problem is not None:
                raise _Abort(problem, token.offset)
            return _Node.NUMBER
        if kind in (_Kind.STRING, _Kind.RAW_STRING):
            if _go_unquote(token.value) is None:
                raise _Abort("invalid syntax", token.offset)
            return _Node.STRING
        if kind is _Kind.LEFT_PAREN:
            self._pipeline("parenthesized pipeline", _Kind.RIGHT_PAREN)
            return _Node.PIPELINE
        if kind in _SIMPLE_TERMS:
            return _SIMPLE_TERMS[kind]
        self._backup()
        return None
