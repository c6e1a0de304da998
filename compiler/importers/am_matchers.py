"""Alertmanager's three ways of writing matchers, as converge `matchers:` strings.

Routes and inhibit rules may use the deprecated `match` (equality) and `match_re`
(anchored regular expressions) maps as well as `matchers`, whose strings may each hold
several matchers (`{a="b", c=~"d"}`) with bare or quoted values, and from Alertmanager
0.27 quoted UTF-8 label names (`"service.name"="api"`). converge writes one matcher per
string, value always quoted, which every Alertmanager version reads alike (a UTF-8 name
quoted too, which needs 0.27: `utf8_names` tells the importer to raise the version).
"""

from __future__ import annotations

import re
from typing import Any

from converge.compiler import matchers
from converge.compiler.importers import documents as docs

_PIECE = re.compile(
    r'\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*|"(?:[^"\\]|\\.)*")\s*(?P<op>=~|!~|!=|=)\s*'
    r'(?P<value>"(?:[^"\\]|\\.)*"|[^",]*?)\s*(?:,|$)'
)
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t"}


def convert(raw: dict[str, Any], *, prefix: str, where: str) -> list[str]:
    """The matchers of a route (`prefix=""`) or one side of an inhibit rule (`"source_"`).

    Raises:
        SourceFormatError: a matcher string does not parse.
    """
    found: list[str] = []
    equal = docs.string_map(raw.get(f"{prefix}match"), where=f"{where}: {prefix}match")
    regex = docs.string_map(raw.get(f"{prefix}match_re"), where=f"{where}: {prefix}match_re")
    for name, value in equal.items():
        found.append(matchers.Matcher(name, "=", value).render())
    for name, value in regex.items():
        found.append(matchers.Matcher(name, "=~", value).render())
    for text in docs.string_list(raw.get(f"{prefix}matchers"),
                                 where=f"{where}: {prefix}matchers"):
        found.extend(m.render() for m in split(text, where=f"{where}: {prefix}matchers"))
    return list(dict.fromkeys(found))


def utf8_names(texts: list[str]) -> bool:
    """Whether any of the converted matcher strings quotes its label name."""
    return any(text.startswith('"') for text in texts)


def split(text: str, *, where: str) -> list[matchers.Matcher]:
    """The matchers in one string: `a="b"`, `a=b`, `a="b", c=~"d"` or `{a="b"}`.

    Raises:
        SourceFormatError: the string is not a list of matchers.
    """
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    found, position = [], 0
    while position < len(body):
        piece = _PIECE.match(body, position)
        if piece is None or piece.end() == position:
            raise docs.SourceFormatError(f"{where}: {text!r} is not a matcher such as "
                                         'name="value" or name=~"regex"')
        value = piece["value"]
        if value.startswith('"'):
            value = re.sub(r"\\.", lambda m: _ESCAPES.get(m[0], m[0][1]), value[1:-1])
        name = piece["name"]
        if name.startswith('"'):
            name = re.sub(r"\\.", lambda m: _ESCAPES.get(m[0], m[0][1]), name[1:-1])
        found.append(matchers.Matcher(name, piece["op"], value))
        position = piece.end()
    if not found:
        raise docs.SourceFormatError(f"{where}: empty matcher {text!r}")
    return found
