"""Alertmanager matchers: parse `name="value"`-style strings and evaluate them on label sets.

The classic Alertmanager 0.25 parser's rules: the label name is a plain identifier; the
operator is one of `=`, `!=`, `=~`, `!~`; the value may be double-quoted (with Go escapes)
or bare. Regular expressions are anchored, as in Alertmanager. Alertmanager ≥ 0.27 (its
UTF-8 matcher parser) also takes a double-quoted label name of any UTF-8 text
(`"service.name"="api"`): parsed here for every version, such a matcher is `utf8` and
`matcher/syntax` refuses it for an older target.
"""

from __future__ import annotations

import dataclasses
import re

_MATCHER = re.compile(
    r'^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*|"(?:[^"\\]|\\.)*")\s*(?P<op>=~|!~|!=|=)\s*'
    r'(?P<value>"(?:[^"\\]|\\.)*"|[^"\s,{}]*)\s*$'
)
_CLASSIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
UTF8_SINCE = (0, 27)
"""The Alertmanager version whose matcher parser takes quoted UTF-8 label names."""
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t"}


@dataclasses.dataclass(frozen=True, slots=True)
class Matcher:
    """One parsed matcher."""

    name: str
    op: str
    value: str

    def matches(self, value: str) -> bool:
        """Whether a label value (empty when the label is absent) satisfies the matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        matched = re.fullmatch(self.value, value) is not None
        return matched if self.op == "=~" else not matched

    @property
    def utf8(self) -> bool:
        """Whether the label name needs quoting (Alertmanager ≥ 0.27 only)."""
        return _CLASSIC_NAME.match(self.name) is None

    def render(self) -> str:
        """Canonical text, always quoting the value (safe for every Alertmanager version)
        and the label name when it is not a classic one."""
        name = _quote(self.name) if self.utf8 else self.name
        return f"{name}{self.op}{_quote(self.value)}"


@dataclasses.dataclass(frozen=True, slots=True)
class MatcherError:
    """A matcher string that does not parse; kept in the model so checks still run."""

    text: str
    message: str


def parse(text: str) -> Matcher | MatcherError:
    """Parse one matcher string."""
    found = _MATCHER.match(text)
    if found is None:
        return MatcherError(text, f"{text!r} is not a matcher: expected name=\"value\", "
                                  "name!=\"value\", name=~\"regex\" or name!~\"regex\"")
    value = found["value"]
    if value.startswith('"'):
        value = _unquote(value)
    name = _unquote(found["name"]) if found["name"].startswith('"') else found["name"]
    if not name:
        return MatcherError(text, f"{text!r} has an empty label name")
    op = found["op"]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as error:
            return MatcherError(text, f"invalid regular expression {value!r}: {error}")
    return Matcher(name, op, value)


def _unquote(text: str) -> str:
    return re.sub(r"\\.", lambda m: _ESCAPES.get(m.group(0), m.group(0)[1]), text[1:-1])


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
