"""promtool's series notations: `metric{label="value"}` and `0+10x5 _ stale` values.

Parsed here so that `converge check` reports a mistyped input series at its column,
before promtool would report it against a file the user never sees. The grammar is
promtool 2.42's; native histogram samples (`{{…}}`, newer promtool) are left to promtool.
"""

from __future__ import annotations

import dataclasses
import re

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`')
_UNSIGNED = r"(?:inf|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?)"
_ITEM = re.compile(rf"_(?:x[0-9]+)?|stale|[-+]?{_UNSIGNED}(?:[-+]{_UNSIGNED}x[0-9]+|x[0-9]+)?",
                   re.IGNORECASE)
"""One sample item: `_`, `_xN`, `stale`, `a`, `axN`, `a+bxN`, `a-bxN`."""
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong and at which character offset."""

    message: str
    offset: int


@dataclasses.dataclass(frozen=True, slots=True)
class Series:
    """A parsed series: its labels, the metric name under `__name__`."""

    labels: dict[str, str]


def parse_series(text: str) -> Series | Problem:
    """Parse `metric{label="value", …}` (name, braces or both); `{}` alone is no labels."""
    labels: dict[str, str] = {}
    position = _skip(text, 0)
    name = _NAME.match(text, position)
    if name is not None:
        labels["__name__"] = name[0]
        position = name.end()
    position = _skip(text, position)
    if position < len(text) and text[position] == "{":
        found = _parse_braces(text, position + 1, labels)
        if isinstance(found, Problem):
            return found
        position = _skip(text, found)
    elif name is None and text.strip():
        return Problem("expected a metric name or '{'", position)
    if position < len(text):
        return Problem(f"unexpected {text[position]!r} after the series", position)
    return Series(labels)


def _parse_braces(text: str, position: int, labels: dict[str, str]) -> int | Problem:
    """Parse `label="value", …}` from `position`; the offset after `}`."""
    while True:
        position = _skip(text, position)
        if text.startswith("}", position):
            return position + 1
        label = _LABEL.match(text, position)
        if label is None:
            return Problem("expected a label name or '}'", position)
        position = _skip(text, label.end())
        if not text.startswith("=", position) or text.startswith("=~", position):
            return Problem(f"expected '=' after label {label[0]!r} (a series has exact "
                           "values, not matchers)", position)
        position = _skip(text, position + 1)
        value = _STRING.match(text, position)
        if value is None:
            return Problem(f"expected a quoted value for label {label[0]!r}", position)
        if label[0] in labels:
            return Problem(f"label {label[0]!r} is given twice", label.start())
        labels[label[0]] = _unquote(value[0])
        position = _skip(text, value.end())
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("}", position):
            return Problem("expected ',' or '}'", position)


def _skip(text: str, position: int) -> int:
    """The offset of the first non-space character from `position`."""
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _unquote(quoted: str) -> str:
    if quoted[0] == "`":
        return quoted[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), quoted[1:-1])


def values_problem(text: str) -> Problem | None:
    """Why `text` is not promtool's expanding notation, or None when it is (or when it
    holds native histogram samples, which promtool checks itself)."""
    if "{{" in text:
        return None
    for item in re.finditer(r"\S+", text):
        if _ITEM.fullmatch(item[0]) is None:
            return Problem(f"{item[0]!r} is not a sample: write a number, 'a+bxN' (a, a+b, "
                           "…, N+1 samples), 'axN', '_' (none), '_xN' or 'stale'",
                           item.start())
    return None
