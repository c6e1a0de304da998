"""A small PromQL tokenizer, and the questions about tokens that placing an error needs.

`promql_parser` reports *what* is wrong but never *where*; everything that points at a
position works on these tokens (strings, comments and bracket nesting already resolved)
rather than on raw text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

_TOKEN_PATTERN = r"""
    (?P<space>\s+)
    |(?P<comment>\#[^\r\n]*)
    |(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<badstr>["'`])
    |(?P<num>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[A-Za-z0-9_.]*)
    |(?P<ident>IDENT)
    |(?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=!,@:])
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<other>.)
"""
_TOKEN_RE = re.compile(
    _TOKEN_PATTERN.replace("IDENT", "[A-Za-z_:][A-Za-z0-9_:]*"), re.VERBOSE | re.DOTALL
)
# Inside `[...]` a colon separates the range from the subquery step.
_BRACKET_TOKEN_RE = re.compile(
    _TOKEN_PATTERN.replace("IDENT", "[A-Za-z_][A-Za-z0-9_]*"), re.VERBOSE | re.DOTALL
)
_CLOSER = {"(": ")", "[": "]", "{": "}"}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_BINARY_OPERATORS = frozenset("+ - * / % ^ == != < > <= >= and or unless atan2".split())


class _Token(NamedTuple):
    kind: str  # space/comment never appear; badstr runs to the end of the text
    text: str
    start: int
    end: int
    inside: str  # the innermost enclosing bracket: "", "(", "[" or "{"


@dataclasses.dataclass(frozen=True, slots=True)
class _Lexed:
    text: str
    tokens: list[_Token]
    pairs: dict[int, int]  # opener index <-> closer index, both ways
    stray: list[int]  # closers with no opener
    unclosed: list[int]  # openers never closed, outermost first


def _lex(text: str) -> _Lexed:
    """Tokens of `text`, skipping spaces, comments and the insides of strings."""
    tokens: list[_Token] = []
    pairs: dict[int, int] = {}
    stray: list[int] = []
    stack: list[int] = []
    pos = 0
    while True:
        in_brackets = bool(stack) and tokens[stack[-1]].text == "["
        match = (_BRACKET_TOKEN_RE if in_brackets else _TOKEN_RE).match(text, pos)
        if match is None:
            break
        kind = match.lastgroup or "other"
        pos = len(text) if kind == "badstr" else match.end()
        if kind in ("space", "comment"):
            continue
        index = len(tokens)
        inside = tokens[stack[-1]].text if stack else ""
        tokens.append(_Token(kind, text[match.start() : pos], match.start(), pos, inside))
        if kind == "open":
            stack.append(index)
        elif kind == "close" and stack and _CLOSER[tokens[stack[-1]].text] == match[0]:
            opener = stack.pop()
            pairs[opener] = index
            pairs[index] = opener
        elif kind == "close":
            stray.append(index)
    return _Lexed(text, tokens, pairs, stray, stack)


def _is_binary_operator(token: _Token) -> bool:
    return token.kind in ("op", "ident") and token.text.lower() in _BINARY_OPERATORS


def _walk_back(lexed: _Lexed, index: int) -> Iterator[int]:
    """Indexes from `index` down to 0, jumping over bracketed groups closed before it."""
    i = index
    while i >= 0:
        yield i
        token = lexed.tokens[i]
        i = lexed.pairs[i] - 1 if token.kind == "close" and i in lexed.pairs else i - 1


def _nearest(lexed: _Lexed, index: int, wanted: Callable[[_Token], bool]) -> int | None:
    """The start of the closest token at or before `index`, at its nesting level or above."""
    for i in _walk_back(lexed, index):
        if wanted(lexed.tokens[i]):
            return lexed.tokens[i].start
    return None


def _call_name(lexed: _Lexed, paren: int) -> int:
    """The index of the function or aggregation name before the argument list at `paren`."""
    tokens = lexed.tokens
    name = paren - 1
    if name >= 0 and tokens[name].text == ")" and name in lexed.pairs:
        modifier = lexed.pairs[name] - 1  # `sum by (a) (...)`
        if modifier >= 0 and tokens[modifier].text.lower() in ("by", "without"):
            name = modifier - 1
    return name if name >= 0 and tokens[name].kind == "ident" else paren


def _enclosing_call(lexed: _Lexed, index: int) -> int | None:
    """The start of the name of the innermost call still open at token `index`."""
    for i in _walk_back(lexed, index - 1):
        if lexed.tokens[i].text == "(":
            return lexed.tokens[_call_name(lexed, i)].start
    return None


def _unescape_char(text: str) -> str:
    """A character as Rust's `{:?}` prints it (`\\\\`, `\\'`, `\\n`, `\\u{301}`)."""
    simple = {"\\\\": "\\", "\\'": "'", '\\"': '"', "\\n": "\n", "\\t": "\t", "\\r": "\r"}
    if text in simple:
        return simple[text]
    if match := re.fullmatch(r"\\u\{([0-9a-fA-F]+)\}", text):
        return chr(int(match[1], 16))
    return text


def _first(tokens: Sequence[_Token], wanted: Callable[[_Token], bool]) -> int | None:
    return next((token.start for token in tokens if wanted(token)), None)


def _last(tokens: Sequence[_Token], wanted: Callable[[_Token], bool]) -> int | None:
    return next((token.start for token in reversed(tokens) if wanted(token)), None)
