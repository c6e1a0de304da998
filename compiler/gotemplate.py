"""Static checks for the Go text/template strings in alert rules and Alertmanager templates.

Alert annotations and labels in Prometheus and vmalert rules, and Alertmanager notification
templates, are Go ``text/template`` programs. promtool, vmalert and amtool refuse a rule file or
a configuration whose templates Go's parser rejects, usually naming nothing better than a line of
generated text. This module re-implements Go's template lexer and parser
(``text/template/parse``) closely enough to reject the same templates first, with the character
offset of every problem and without a Go toolchain, and lists the alert labels a template reads
so that callers can compare them with the labels a rule produces.

It checks syntax, the function names each dialect defines and the scope of variables. Like Go's
parser it does not type-check arguments, and nothing is ever executed. The syntax is that of Go
1.23 (``{{else with}}``) and the function sets those of current releases, so a template can pass
here and still fail on an older promtool, vmalert or Alertmanager.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Final, Literal

__all__ = [
    "ALERTMANAGER_FUNCTIONS",
    "PROMETHEUS_FUNCTIONS",
    "VMALERT_FUNCTIONS",
    "Dialect",
    "LabelReference",
    "TemplateProblem",
    "label_references",
    "template_problems",
]

Dialect = Literal["prometheus", "vmalert", "alertmanager"]


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One reason Go's template parser rejects a template; ``offset`` is 0-based in the text."""

    message: str
    offset: int


@dataclass(frozen=True, slots=True)
class LabelReference:
    """An alert label a template reads; ``offset`` is where the label's name starts."""

    name: str
    offset: int


#: The functions every Go text/template has (``text/template/funcs.go``).
_GO_BUILTINS: Final[frozenset[str]] = frozenset(
    {
        "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "call",
        "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery",
    }
)  # fmt: skip

#: Prometheus alerting-rule templates (``template/template.go``, Prometheus 3.x). ``tmpl`` is
#: left out on purpose: it exists only in console templates, and promtool rejects it in rules.
PROMETHEUS_FUNCTIONS: Final[frozenset[str]] = _GO_BUILTINS | {
    # Queries.
    "query", "first", "label", "value", "strvalue", "sortByLabel",
    # Numbers and times.
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "toTime", "toDuration", "now", "parseDuration",
    # Strings.
    "title", "toUpper", "toLower", "stripPort", "stripDomain", "match", "reReplaceAll",
    "graphLink", "tableLink",
    # Others.
    "args", "safeHtml", "pathPrefix", "externalURL",
}  # fmt: skip

#: vmalert annotation and label templates (``app/vmalert/templates/template.go``).
VMALERT_FUNCTIONS: Final[frozenset[str]] = _GO_BUILTINS | {
    # Strings.
    "title", "toUpper", "toLower", "crlfEscape", "quotesEscape", "jsonEscape", "htmlEscape",
    "stripPort", "stripDomain", "match", "reReplaceAll", "parseDuration", "parseDurationTime",
    # Numbers and times.
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "toTime",
    # URLs.
    "externalURL", "pathPrefix", "pathEscape", "queryEscape",
    # Queries.
    "query", "first", "label", "value", "strvalue", "sortByLabel",
    # Helpers.
    "args", "safeHtml",
}  # fmt: skip

#: Alertmanager notification templates (``DefaultFuncs`` in ``template/template.go``), up to
#: the ``now``/``list``/``append``/``dict`` helpers of recent releases.
ALERTMANAGER_FUNCTIONS: Final[frozenset[str]] = _GO_BUILTINS | {
    "toUpper", "toLower", "title", "trimSpace", "join", "match", "safeHtml", "safeUrl",
    "urlUnescape", "reReplaceAll", "stringSlice", "date", "tz", "since", "humanizeDuration",
    "toJson", "now", "list", "append", "dict",
}  # fmt: skip

_FUNCTIONS: Final[dict[str, frozenset[str]]] = {
    "prometheus": PROMETHEUS_FUNCTIONS,
    "vmalert": VMALERT_FUNCTIONS,
    "alertmanager": ALERTMANAGER_FUNCTIONS,
}

#: Variables each tool declares before the template text (``$`` always exists). Prometheus
#: and vmalert prepend ``{{$labels := .Labels}}`` and friends to every alert template.
_VARIABLES: Final[dict[str, tuple[str, ...]]] = {
    "prometheus": ("$labels", "$externalLabels", "$externalURL", "$value"),
    "vmalert": (
        "$value", "$labels", "$expr", "$externalLabels", "$externalURL", "$alertID",
        "$groupID", "$activeAt", "$for",
    ),
    "alertmanager": (),
}  # fmt: skip


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
            ``compiler.targets.TEMPLATE_NAMES``).

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


def known_names(dialect: Dialect) -> tuple[frozenset[str], tuple[str, ...]]:
    """The functions and predefined ``$variables`` of a dialect."""
    return _FUNCTIONS[dialect], _VARIABLES[dialect]


#: Methods of Alertmanager's label maps: ``.Labels.SortedPairs`` is a call, not a label.
_KV_METHODS: Final = frozenset({"SortedPairs", "Remove", "Names", "Values", "String"})


def label_references(text: str) -> list[LabelReference]:
    """List the alert labels ``text`` reads, with where each name is.

    Finds ``$labels.NAME``, ``.Labels.NAME``, ``index $labels "NAME"`` and
    ``index .Labels "NAME"``. Text outside actions and comments is ignored, and a
    template with syntax errors yields the references found in its well-formed parts.

    Args:
        text: The template.

    Returns:
        One reference per occurrence, sorted by offset.
    """
    tokens = _Lexer(text).run()
    references: list[LabelReference] = []
    for index, token in enumerate(tokens):
        if _is_labels(token):
            following = tokens[index + 1]
            name = following.value[1:]
            if following.kind is _Kind.FIELD and name not in _KV_METHODS:
                references.append(LabelReference(name, following.offset + 1))
        elif token.kind is _Kind.IDENTIFIER and token.value == "index":
            reference = _index_reference(tokens, index + 1)
            if reference is not None:
                references.append(reference)
    return sorted(references, key=lambda reference: reference.offset)


def _is_labels(token: _Token) -> bool:
    return (token.kind is _Kind.VARIABLE and token.value == "$labels") or (
        token.kind is _Kind.FIELD and token.value == ".Labels"
    )


def _index_reference(tokens: list[_Token], start: int) -> LabelReference | None:
    """The label in ``index $labels "NAME"``, given the position after ``index``."""
    position = _skip_space_tokens(tokens, start)
    if not _is_labels(tokens[position]) or tokens[position + 1].kind is not _Kind.SPACE:
        return None
    literal = tokens[_skip_space_tokens(tokens, position + 1)]
    if literal.kind not in (_Kind.STRING, _Kind.RAW_STRING):
        return None
    name = _go_unquote(literal.value)
    return None if name is None else LabelReference(name, literal.offset + 1)


def _skip_space_tokens(tokens: list[_Token], position: int) -> int:
    while tokens[position].kind is _Kind.SPACE:
        position += 1
    return position


# --- Lexer -------------------------------------------------------------------------------------


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


class _Lexer:
    """Go's template lexer (``text/template/parse/lex.go``) with the default delimiters.

    Go stops at the first lexical error; this lexer emits an ERROR token, then a RIGHT_DELIM
    at the next ``}}`` (if any) and goes on, so that later actions are still checked.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Token] = []
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


# --- Parser ------------------------------------------------------------------------------------


class _Abort(Exception):
    """Ends the current action, like an error panic in Go's parser."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


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


@dataclass(frozen=True, slots=True)
class _Item:
    """What a piece of template parsed into, as far as the enclosing list cares."""

    kind: Literal["node", "end", "else"]
    offset: int  # Of the text, or of the action's "{{".
    _: KW_ONLY
    nonempty: bool = True  # False for comments and blank text (Go's IsEmptyTree).
    chained: str = ""  # "if" or "with" for {{else if}} and {{else with}}.
    action: int = 0  # Token index where the action starts.


class _Parser:
    """Go's template parser (``text/template/parse/parse.go``) that resumes after errors."""

    def __init__(
        self, tokens: list[_Token], *, functions: frozenset[str], variables: tuple[str, ...]
    ) -> None:
        self.tokens = tokens
        self.functions = functions
        self.variables = ["$", *variables]
        self.index = 0
        self.action = 0  # Token index where the action being parsed starts.
        self.range_depth = 0
        self.templates: dict[str, bool] = {}  # Defined template name: whether non-empty.
        self.problems: list[TemplateProblem] = []
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

    # Pipelines.

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


# --- Go literals -------------------------------------------------------------------------------

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
