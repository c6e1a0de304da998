"""Positions inside quoted values: the index skips plain runs at once, and lands where the
character-by-character walk it replaced landed."""

from __future__ import annotations

import hypothesis
from hypothesis import strategies as st

from converge.compiler.checks import context

_ESCAPE_WIDTHS = {"x": 2, "u": 4, "U": 8}


def _walked_index(region: str, offset: int) -> int | None:
    """The character-by-character walk `_quoted_index` replaced."""
    double = region[0] == '"'
    position, decoded = 1, 0
    while position < len(region):
        if decoded == offset:
            return position
        char = region[position]
        if char == region[0] and not (not double and region[position + 1:position + 2] == "'"):
            return None
        if double and char == "\\":
            following = region[position + 1:position + 2]
            if following in ("\n", "\r"):
                position += 2
                while position < len(region) and region[position] in " \t":
                    position += 1
                continue
            position += 2 + _ESCAPE_WIDTHS.get(following, 0)
        elif not double and char == "'":
            position += 2
        elif char in "\r\n":
            position += 1
            while position < len(region) and region[position] in " \t\r\n":
                position += 1
        else:
            position += 1
        decoded += 1
    return None


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(quote=st.sampled_from(['"', "'"]),
                  body=st.text(alphabet="ab {}$\\\"'\r\n\tux0"),
                  offset=st.integers(-2, 30))
def test_quoted_index_agrees_with_the_walk(quote: str, body: str, offset: int) -> None:
    region = quote + body + quote
    assert context._quoted_index(region, offset) == _walked_index(region, offset)
