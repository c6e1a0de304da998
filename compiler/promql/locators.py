"""Where a structural parse error is, for the messages that name what went wrong.

Brackets, strings, durations and stray characters: each message pattern in `_RULES` has a
locator that finds its token directly, with no further parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from converge.compiler.promql.tokens import (
    _ESCAPE_RE,
    _first,
    _last,
    _Lexed,
    _unescape_char,
)

# Each takes the lexed text and the match of its message pattern; None means "not found".

_Locator = Callable[[_Lexed, re.Match[str]], int | None]


def _at_unknown_function(lexed: _Lexed, match: re.Match[str]) -> int | None:
    tokens, name = lexed.tokens, match["name"]
    for i, token in enumerate(tokens[:-1]):
        if token.kind == "ident" and token.text == name and tokens[i + 1].text == "(":
            return token.start
    return _first(tokens, lambda t: t.text == name)


def _at_unclosed(lexed: _Lexed, match: re.Match[str]) -> int | None:
    opener = {"parenthesis": "(", "brackets": "[", "braces": "{"}[match["what"]]
    return _last([lexed.tokens[i] for i in lexed.unclosed], lambda t: t.text == opener)


def _at_stray_closer(lexed: _Lexed, match: re.Match[str]) -> int | None:
    closer = match["char"]
    found = _first([lexed.tokens[i] for i in lexed.stray], lambda t: t.text == closer)
    return found if found is not None else _first(lexed.tokens, lambda t: t.text == closer)


def _at_unterminated(lexed: _Lexed, match: re.Match[str]) -> int | None:
    return _first(lexed.tokens, lambda t: t.kind == "badstr")


def _at_fragment(lexed: _Lexed, match: re.Match[str]) -> int | None:
    fragment = match["fragment"]
    return _first(lexed.tokens, lambda t: lexed.text.startswith(fragment, t.start))


def _at_zero_duration(lexed: _Lexed, match: re.Match[str]) -> int | None:
    tokens = lexed.tokens
    for i, token in enumerate(tokens):
        in_range = token.inside == "[" or (i > 0 and tokens[i - 1].text.lower() == "offset")
        if token.kind == "num" and in_range and not re.search(r"[1-9]", token.text):
            return token.start
    return None


def _at_missing_duration(lexed: _Lexed, match: re.Match[str]) -> int | None:
    """`x[]`: point where the duration should be."""
    tokens = lexed.tokens
    for i, token in enumerate(tokens[:-1]):
        if token.text == "[" and tokens[i + 1].text in ("]", ":"):
            return tokens[i + 1].start
    return None


def _at_colon(lexed: _Lexed, match: re.Match[str]) -> int | None:
    """A colon in `[...]` that is either the first thing or the second colon."""
    colons = 0
    for i, token in enumerate(lexed.tokens):
        if token.text == "[":
            colons = 0
        elif token.text == ":" and token.inside == "[":
            colons += 1
            if colons == 2 or lexed.tokens[i - 1].text == "[":
                return token.start
    return None


def _at_char_after(lexed: _Lexed, match: re.Match[str]) -> int | None:
    first, then = match["first"], _unescape_char(match["then"])
    if not then:  # "'!' can not be at the end"
        return _last(lexed.tokens, lambda t: t.text.startswith(first))
    return _first(
        lexed.tokens,
        lambda t: (
            t.kind not in ("str", "badstr")
            and t.text.startswith(first)
            and lexed.text.startswith(then, t.start + 1)
        ),
    )


def _at_char(lexed: _Lexed, match: re.Match[str]) -> int | None:
    char = _unescape_char(match["char"])
    inside = {"braces": "{", "brackets": "[", None: None}[match["where"]]
    return _first(
        lexed.tokens,
        lambda t: (
            t.kind not in ("str", "badstr")
            and t.text.startswith(char)
            and (inside is None or t.inside == inside)
        ),
    )


def _at_nested_opener(lexed: _Lexed, match: re.Match[str]) -> int | None:
    opener = match["char"]
    return _first(lexed.tokens, lambda t: t.text == opener and t.inside == opener)


def _at_escape(lexed: _Lexed, match: re.Match[str]) -> int | None:
    char = _unescape_char(match["char"])
    for token in lexed.tokens:
        if token.kind not in ("str", "badstr"):
            continue
        for escape in _ESCAPE_RE.finditer(token.text, 1):
            if escape[1] == char:
                return token.start + escape.start()
    return None


_RULES: tuple[tuple[re.Pattern[str], _Locator], ...] = tuple(
    (re.compile(pattern, re.DOTALL), locator)
    for pattern, locator in (
        (r"unknown function with name '(?P<name>[^']*)'", _at_unknown_function),
        (r"unclosed left (?P<what>parenthesis)", _at_unclosed),
        (r"unexpected end of input inside (?P<what>brackets|braces)", _at_unclosed),
        (r"unexpected right (?:parenthesis|brace|bracket) '(?P<char>.)'", _at_stray_closer),
        (r"unterminated quoted string", _at_unterminated),
        (
            r"(?:bad number or duration syntax|bad duration syntax|not a valid duration string)"
            r": (?P<fragment>.+)$",
            _at_fragment,
        ),
        (r"duration must be greater than 0", _at_zero_duration),
        (r"missing unit character in duration", _at_missing_duration),
        (r"unexpected second colon|expect duration before first colon", _at_colon),
        (
            r"unexpected character after '(?P<first>.)'(?: inside braces)?: '(?P<then>.+)'$",
            _at_char_after,
        ),
        (r"'(?P<first>!)' can not be at the end(?P<then>)", _at_char_after),
        (r"unexpected left brace '(?P<char>.)' inside", _at_nested_opener),
        (
            r"unexpected character(?: inside (?P<where>braces|brackets))?: '?(?P<char>.+?)'?$",
            _at_char,
        ),
        (r"unknown escape sequence '(?P<char>.+)'$", _at_escape),
        (r"no expression found", lambda lexed, match: 0),
    )
)
