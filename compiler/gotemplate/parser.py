"""Go's text/template parser over whole templates, resuming after errors.

Holds ``template_problems``, the entry point, and the parser of text, actions and control
structures (``if``, ``range``, ``with``, ``define``, ``block``, ``template``...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Literal

from converge.compiler.gotemplate.lexer import _Lexer
from converge.compiler.gotemplate.literals import _go_quote, _go_unquote
from converge.compiler.gotemplate.names import _FUNCTIONS, _VARIABLES, Dialect
from converge.compiler.gotemplate.pipelines import _PipelineParser
from converge.compiler.gotemplate.problems import TemplateProblem, _Abort, _unexpected
from converge.compiler.gotemplate.scanner import _Kind, _Token


def template_problems(
    text: str, *, dialect: Dialect = "prometheus", unavailable: frozenset[str] = frozenset()
) -> list[TemplateProblem]:
    """Find what Go's template parser, with the dialect's functions, would reject in ``text``.

    Unlike Go, which stops at the first error, parsing resumes after each bad action, so one
    call reports every problem it can tell apart. Messages are Go's, except that a missing
    ``{{end}}`` says which block it is missing for. Two things Go's parser lets through are
    reported too, because executing them always fails: assigning (``$x = 1``) to a variable
    never declared, and using a variable declared in another branch of the same ``{{if}}``.

    Args:
        text: The template, e.g. an annotation value or an Alertmanager template file.
        dialect: Whose functions and predefined variables (``$labels``, ``$value``...) apply.
        unavailable: Functions and ``$variables`` the target version lacks (see
            ``converge.compiler.targets.TEMPLATE_NAMES``).

    Returns:
        The problems, sorted by offset; empty when the template parses.
    """
    tokens = _Lexer(text).run()
    parser = _Parser(
        tokens,
        functions=_FUNCTIONS[dialect] - unavailable,
        variables=tuple(v for v in _VARIABLES[dialect] if v not in unavailable),
    )
    try:
        problems = parser.parse()
    except RecursionError:  # Hundreds of nested parentheses or blocks: no real template.
        return [TemplateProblem("template nests too deeply to check", 0)]
    return sorted(set(problems), key=lambda problem: (problem.offset, problem.message))


@dataclass(frozen=True, slots=True)
class _Item:
    """What a piece of template parsed into, as far as the enclosing list cares."""

    kind: Literal["node", "end", "else"]
    offset: int  # Of the text, or of the action's "{{".
    _: KW_ONLY
    nonempty: bool = True  # False for comments and blank text (Go's IsEmptyTree).
    chained: str = ""  # "if" or "with" for {{else if}} and {{else with}}.
    action: int = 0  # Token index where the action starts.


class _Parser(_PipelineParser):
    """Go's template parser (``text/template/parse/parse.go``) that resumes after errors."""

    def __init__(
        self, tokens: list[_Token], *, functions: frozenset[str], variables: tuple[str, ...]
    ) -> None:
        super().__init__(tokens, functions=functions, variables=variables)
        self.range_depth = 0
        self.templates: dict[str, bool] = {}  # Defined template name: whether non-empty.
        self._controls: dict[str, Callable[[_Token, _Token], _Item]] = {
            "block": self._block,
            "break": self._break,
            "continue": self._break,
            "define": self._nested_definition,
            "else": self._else,
            "end": self._end,
            "if": self._control,
            "range": self._control,
            "with": self._control,
            "template": self._template,
        }

    # Lists of text and actions.

    def parse(self) -> list[TemplateProblem]:
        """Parse the whole template: text, actions and top-level ``{{define}}`` blocks."""
        while self._peek().kind is not _Kind.EOF:
            start = self.index
            delim = self._next()
            if delim.kind is _Kind.LEFT_DELIM:
                keyword = self._next_non_space()
                if keyword.kind is _Kind.KEYWORD and keyword.value == "define":
                    self.action = start
                    self._definition(delim)
                    continue
            self.index = start
            item = self._text_or_action()
            if item.kind != "node":
                self._report(f"unexpected {{{{{item.kind}}}}}", item.offset)
                self._skip_chained(item)
        return self.problems

    def _skip_chained(self, item: _Item) -> None:
        """Drop the rest of a stray ``{{else if …}}``, whose ``if`` is still pending."""
        if item.chained:
            self.action = item.action
            self._skip_action()

    def _item_list(self, opener: _Token, keyword: str) -> tuple[bool, _Item | None]:
        """Parse up to ``{{end}}`` or ``{{else}}``: whether the list is non-blank, and which."""
        nonempty = False
        while self._peek_non_space().kind is not _Kind.EOF:
            item = self._text_or_action()
            if item.kind != "node":
                return nonempty, item
            nonempty = nonempty or item.nonempty
        self._report(f"unexpected EOF: missing {{{{end}}}} for {{{{{keyword}}}}}", opener.offset)
        return nonempty, None

    def _text_or_action(self) -> _Item:
        token = self._next_non_space()
        if token.kind is _Kind.TEXT:
            return _Item("node", token.offset, nonempty=bool(token.value.strip()))
        if token.kind is _Kind.COMMENT:
            return _Item("node", token.offset, nonempty=False)
        self.action = self.index - 1
        try:
            if token.kind is not _Kind.LEFT_DELIM:
                raise _unexpected(token, "input")
            return self._action(token)
        except _Abort as error:
            self._recover(error)
        return _Item("node", token.offset)

    def _action(self, delim: _Token) -> _Item:
        token = self._next_non_space()
        control = self._controls.get(token.value) if token.kind is _Kind.KEYWORD else None
        if control is not None:
            return control(delim, token)
        self._backup()
        self._pipeline("command", _Kind.RIGHT_DELIM)
        return _Item("node", delim.offset)

    # Control structures.

    def _control(self, delim: _Token, keyword: _Token) -> _Item:
        """``{{if}}``, ``{{range}}`` or ``{{with}}`` and its ``{{else}}`` parts, to ``{{end}}``."""
        context = keyword.value
        mark = len(self.variables)
        try:
            self._guard(lambda: self._pipeline(context, _Kind.RIGHT_DELIM))
            item = self._branch(delim, context)
            # {{else if}} in an if, or {{else with}} in a with, shares the first {{end}}. Go
            # parses it as a nested control; a loop does the same without deep recursion.
            while item is not None and item.chained == context:
                self._next_non_space()  # The "if" or "with" the {{else}} left pending.
                self._guard(lambda: self._pipeline(context, _Kind.RIGHT_DELIM))
                item = self._branch(delim, context)
            if item is not None and item.kind == "else":
                self._else_branch(delim, context=context, item=item)
        finally:
            del self.variables[mark:]
        return _Item("node", delim.offset)

    def _branch(self, opener: _Token, context: str) -> _Item | None:
        """A list ending in ``{{else}}`` or ``{{end}}``; what it declares is unset after it."""
        mark = len(self.variables)
        self.range_depth += context == "range"
        try:
            return self._item_list(opener, context)[1]
        finally:
            self.range_depth -= context == "range"
            del self.variables[mark:]

    def _else_branch(self, opener: _Token, *, context: str, item: _Item) -> None:
        """The list after the last ``{{else}}``, through ``{{end}}``."""
        if item.chained:  # {{else with}} in an if, or {{else if}} in a range or with.
            self.action = item.action
            self._recover(_unexpected(self._next_non_space(), "input"))
        while True:
            _, end = self._item_list(opener, context)
            if end is None or end.kind == "end":
                return
            self._report("expected end; found {{else}}", end.offset)
            self._skip_chained(end)

    def _else(self, delim: _Token, keyword: _Token) -> _Item:
        following = self._peek_non_space()
        if following.kind is _Kind.KEYWORD and following.value in ("if", "with"):
            return _Item("else", delim.offset, chained=following.value, action=self.action)
        self._guard(lambda: self._expect(_Kind.RIGHT_DELIM, "else"))
        return _Item("else", delim.offset)

    def _end(self, delim: _Token, keyword: _Token) -> _Item:
        self._guard(lambda: self._expect(_Kind.RIGHT_DELIM, "end"))
        return _Item("end", delim.offset)

    def _break(self, delim: _Token, keyword: _Token) -> _Item:
        """``{{break}}`` or ``{{continue}}``."""
        name = f"{{{{{keyword.value}}}}}"
        token = self._next_non_space()
        if token.kind is not _Kind.RIGHT_DELIM:
            raise _unexpected(token, name)
        if not self.range_depth:
            raise _Abort(f"{name} outside {{{{range}}}}", keyword.offset)
        return _Item("node", delim.offset)

    def _template(self, delim: _Token, keyword: _Token) -> _Item:
        self._template_name(self._next_non_space(), "template clause")
        if self._peek_non_space().kind is _Kind.RIGHT_DELIM:
            self._next()
        else:
            self._pipeline("template clause", _Kind.RIGHT_DELIM)
        return _Item("node", delim.offset)

    def _definition(self, delim: _Token) -> None:
        """``{{define "name"}}`` through its ``{{end}}``; only allowed at the top level."""
        name: tuple[str, int] | None = None
        try:
            name = self._template_name(self._next_non_space(), "define clause")
            self._expect(_Kind.RIGHT_DELIM, "define clause")
        except _Abort as error:
            self._recover(error)
        self._template_body(delim, keyword="define", name=name)

    def _nested_definition(self, delim: _Token, keyword: _Token) -> _Item:
        """A ``{{define}}`` inside another template: an error, but its ``{{end}}`` is its own."""
        self._recover(_unexpected(keyword, "command"))
        self._template_body(delim, keyword="define", name=None)
        return _Item("node", delim.offset)

    def _block(self, delim: _Token, keyword: _Token) -> _Item:
        """``{{block "name" pipeline}}``: defines a template and runs it in place."""
        name: tuple[str, int] | None = None
        try:
            name = self._template_name(self._next_non_space(), "block clause")
            self._pipeline("block clause", _Kind.RIGHT_DELIM)
        except _Abort as error:
            self._recover(error)
        self._template_body(delim, keyword="block", name=name)
        return _Item("node", delim.offset)

    def _template_name(self, token: _Token, context: str) -> tuple[str, int]:
        if token.kind not in (_Kind.STRING, _Kind.RAW_STRING):
            raise _unexpected(token, context)
        name = _go_unquote(token.value)
        if name is None:
            raise _Abort("invalid syntax", token.offset)
        return name, token.offset

    def _template_body(self, delim: _Token, *, keyword: str, name: tuple[str, int] | None) -> None:
        """The body of a define or block: a new template, which sees only ``$``."""
        saved = self.variables, self.range_depth
        self.variables, self.range_depth = ["$"], 0
        try:
            nonempty, item = self._item_list(delim, keyword)
            while item is not None and item.kind == "else":
                self._report(f"unexpected {{{{else}}}} in {keyword} clause", item.offset)
                self._skip_chained(item)
                more, item = self._item_list(delim, keyword)
                nonempty = nonempty or more
        finally:
            self.variables, self.range_depth = saved
        if name is None:
            return
        defined = self.templates.get(name[0], False)
        if defined and nonempty:
            self._report(f"template: multiple definition of template {_go_quote(name[0])}", name[1])
        self.templates[name[0]] = defined or nonempty
