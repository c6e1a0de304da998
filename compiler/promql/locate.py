"""Finding the offset of any parse problem, by parsing prefixes of the expression.

The structural messages are placed by `locators`; the rest, and in particular the
parser's bare "invalid promql query", are placed by searching over token prefixes (a
bisection with lookahead, or a scan from the end) for the first token after which no
completion parses, or from which on the parser's message shows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from converge.compiler.promql.locators import _RULES
from converge.compiler.promql.tokens import (
    _CLOSER,
    _enclosing_call,
    _first,
    _is_binary_operator,
    _last,
    _Lexed,
    _nearest,
    _Token,
)
from converge.compiler.promql.values import ParseProblem

_GENERIC = "invalid promql query"
# Messages about the shape of the text rather than about types or semantics.
_SYNTAX_PREFIXES = (
    _GENERIC,
    "unexpected",
    "unclosed",
    "unterminated",
    "bad number",
    "bad duration",
    "not a valid duration",
    "'!'",
    "escape sequence",
    "unknown escape",
    "expect duration",
    "missing unit",
    "invalid label matcher",
    "invalid syntax",
    "no expression",
    "too many",
)
# How many prefixes past a dead end are tried (see `_dead_end`).
_LOOKAHEAD = 4
# What may follow a prefix to make it whole: an operand, a string, a matcher, a duration,
# a number, a call, a grouping, ...; then the open brackets are closed; then an operand.
_COMPLETIONS = ("", " x", " (x)", "()", ' "v"', '="v"', " 5m", " 1", " (a) x", " (a) (x)")
_TAILS = ("", " x", " (x)")


def _prefixes(lexed: _Lexed) -> list[tuple[str, str]]:
    """For each token, the text up to and including it, and the closers its brackets need."""
    stack: list[str] = []
    prefixes: list[tuple[str, str]] = []
    for token in lexed.tokens:
        if token.kind == "open":
            stack.append(_CLOSER[token.text])
        elif token.kind == "close" and stack and stack[-1] == token.text:
            stack.pop()
        prefixes.append((lexed.text[: token.end], "".join(reversed(stack))))
    return prefixes


def _after_last(prefixes: list[tuple[str, str]], holds: Callable[[str, str], bool]) -> int:
    """The index after the last prefix for which `holds` (0 if none does).

    A bisection would assume the property flips once, but closing a prefix's brackets can
    make errors the whole text does not have (`rate(x` closes to `rate(x)`); so this scans
    from the end and stops at the first prefix that holds.
    """
    for index in range(len(prefixes) - 1, -1, -1):
        if holds(*prefixes[index]):
            return index + 1
    return 0


def _complete(
    prefix: str, closers: str, parse: Callable[[str], str | None]
) -> tuple[bool, str | None]:
    """Whether some completion of `prefix` is syntactically valid, and its parse message."""
    for middle in _COMPLETIONS:
        for tail in _TAILS:
            message = parse(prefix + middle + closers + tail)
            if message is None or not message.startswith(_SYNTAX_PREFIXES):
                return True, message
    return False, None


def _trailing_operator(lexed: _Lexed) -> int | None:
    """The index of a binary operator that ends the text (with its modifiers), if any."""
    tokens = lexed.tokens
    i = len(tokens) - 1
    for keywords in (("group_left", "group_right"), ("on", "ignoring")):
        if i > 0 and tokens[i].text == ")" and i in lexed.pairs:
            before = lexed.pairs[i] - 1
            i = before - 1 if before >= 0 and tokens[before].text.lower() in keywords else i
        elif i >= 0 and tokens[i].text.lower() in keywords:
            i -= 1
    if i >= 0 and tokens[i].text.lower() == "bool":
        i -= 1
    return i if i >= 0 and _is_binary_operator(tokens[i]) else None


def _describe(token: _Token) -> str:
    kind = {"ident": "identifier ", "num": "number ", "str": "string "}.get(token.kind, "")
    return f"{kind}{token.text}" if token.kind == "str" else f'{kind}"{token.text}"'


def _dead_end(prefixes: list[tuple[str, str]], parse: Callable[[str], str | None]) -> int:
    """The index of the first token after which nothing parses (`len(prefixes)` if none).

    A bisection, as a prefix that cannot be completed cannot be once extended either; but
    only "some completion parses" is certain, "none of those tried does" is a guess, so a
    few prefixes past the one found are tried too, and if one is viable the search goes on
    from there.
    """

    @functools.cache
    def viable(index: int) -> bool:
        return _complete(*prefixes[index], parse)[0]

    start = 0
    while True:
        low, high = start, len(prefixes)
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if viable(middle) else (low, middle)
        ahead = range(low + 1, min(low + 1 + _LOOKAHEAD, len(prefixes)))
        revived = next((i for i in ahead if viable(i)), None)
        if revived is None:
            return low
        start = revived + 1


def _syntax_problem(lexed: _Lexed, parse: Callable[[str], str | None]) -> ParseProblem:
    """Place the parser's bare "invalid promql query" at the token nothing valid can reach.

    That is the first token whose prefix no completion makes valid; a few later prefixes
    are tried too, since that a completion parses is proof but that none of those tried
    does is a guess.
    """
    tokens = lexed.tokens
    if not tokens:
        return ParseProblem("syntax error: empty expression", 0)
    index = _dead_end(_prefixes(lexed), parse)
    if index < len(tokens):
        token = tokens[index]
        return ParseProblem(f"syntax error: unexpected {_describe(token)}", token.start)
    operator = _trailing_operator(lexed)
    if operator is not None:
        token = tokens[operator]
        return ParseProblem(
            f'syntax error: operator "{token.text}" has no right-hand side', token.start
        )
    return ParseProblem(
        f"syntax error: unexpected end of input after {_describe(tokens[-1])}", tokens[-1].start
    )


def _reproduce(lexed: _Lexed, message: str, parse: Callable[[str], str | None]) -> int | None:
    """The token from which on the prefixes (brackets closed) fail with `message`.

    This is the token after the largest prefix that parses, or fails otherwise; a prefix
    that is merely incomplete (`... +`) is judged by its first completion that parses
    (`... + x`), or skipped if there is none.
    """

    def differs(prefix: str, closers: str) -> bool:
        found = parse(prefix + closers)
        if found == message:
            return False
        if found is None or not found.startswith(_SYNTAX_PREFIXES):
            return True
        completed, found = _complete(prefix, closers, parse)
        return completed and found != message

    prefixes = _prefixes(lexed)
    index = _after_last(prefixes, differs)
    return index if index < len(prefixes) else None


# Once the prefix search has found the token where a semantic error shows, where to point.
_ANCHORS: tuple[tuple[str, Callable[[_Token], bool]], ...] = (
    ("metric name must not be set twice", lambda t: t.text == "__name__"),
    ("vector selector must contain", lambda t: t.text == "{"),
    ("ranges only allowed", lambda t: t.text == "["),
    ("no offset modifiers allowed before range", lambda t: t.text == "["),
    ("offset", lambda t: t.text.lower() == "offset"),
    ("@ ", lambda t: t.text == "@"),
    ("unary expression", lambda t: t.text in ("-", "+")),
    ("binary expression", _is_binary_operator),
    ("comparisons between scalars", _is_binary_operator),
    ("bool modifier", _is_binary_operator),
    ("vector matching", _is_binary_operator),
    ("set operator", _is_binary_operator),
    ("no grouping allowed", _is_binary_operator),
)


def _quoted_token(lexed: _Lexed, index: int, message: str) -> int | None:
    """The closest token at or before `index` spelled like the first quoted word of `message`."""
    quoted = re.search(r"'([^']+)'", message)
    if quoted is None:
        return None
    word = quoted[1]

    def spelled(token: _Token) -> bool:
        return token.text == word or token.text.lower() == word.lower() or token.text[1:-1] == word

    found = _last(lexed.tokens[: index + 1], spelled)
    return found if found is not None else _first(lexed.tokens, spelled)


def _anchor(lexed: _Lexed, index: int, message: str) -> int | None:
    if "in call to" in message or "aggregat" in message:
        found = _enclosing_call(lexed, index)
        if found is not None:
            return found
    for start, wanted in _ANCHORS:
        if message.startswith(start) or (len(start) > 3 and start in message):
            found = _nearest(lexed, index, wanted)
            if found is not None:
                return found
            break
    found = _quoted_token(lexed, index, message)
    return found if found is not None else lexed.tokens[index].start


def _locate(lexed: _Lexed, message: str, parse: Callable[[str], str | None]) -> ParseProblem:
    """Where in `lexed.text` the parser's `message` comes from."""
    for pattern, locator in _RULES:
        match = pattern.match(message)
        if match is not None:
            offset = locator(lexed, match)
            if offset is not None:
                return ParseProblem(message, offset)
            break
    if message == _GENERIC:
        return _syntax_problem(lexed, parse)
    index = _reproduce(lexed, message, parse)
    if index is not None:
        offset = _anchor(lexed, index, message)
    else:
        offset = _quoted_token(lexed, len(lexed.tokens) - 1, message)
    return ParseProblem(message, offset or 0)
