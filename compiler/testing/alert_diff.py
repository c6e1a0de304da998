"""What differs between the alerts promtool expected and those it got, line by line.

promtool prints both lists whole; with five annotations per alert, the one character
that differs is hard to spot. Alerts are paired by their labels: a pair whose annotations
differ shows each differing annotation, an expected alert with no pair is missing, a
fired one with no pair is unexpected (shown with its annotations, ready to copy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

Alert = tuple[dict[str, str], dict[str, str]]
"""An alert's labels and annotations."""

_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_ENTRY = re.compile(r"^\d+:$")


def parse_side(lines: list[str]) -> list[Alert] | None:
    """The alerts of one side (`exp:[` … `]`), or None when the text is not understood."""
    alerts: list[Alert] = []
    for line in lines:
        text = line.strip().rstrip(",")
        if _ENTRY.match(text):
            alerts.append(({}, {}))
        elif text.startswith(("Labels:{", "Annotations:{")):
            if not alerts:
                return None
            key, _, value = text.partition(":")
            parsed = _label_set(value)
            if parsed is None:
                return None
            alerts[-1][0 if key == "Labels" else 1].update(parsed)
    return alerts


def _label_set(text: str) -> dict[str, str] | None:
    if not (text.startswith("{") and text.endswith("}")):
        return None
    found = {}
    for name, quoted in _PAIR.findall(text):
        try:
            found[name] = json.loads(f'"{quoted}"')
        except ValueError:
            found[name] = quoted
    return found


def describe(expected: list[Alert], got: list[Alert]) -> Iterator[str]:
    """Lines saying how `got` differs from `expected`."""
    missing = [a for a in expected if a not in got]
    unexpected = [a for a in got if a not in expected]
    for labels, wanted in missing:
        pair = next((a for a in unexpected if a[0] == labels), None)
        if pair is None:
            yield f"missing:    {show(labels)}"
            continue
        unexpected.remove(pair)
        yield f"annotations differ on {show(labels)}:"
        for name in sorted(wanted.keys() | pair[1].keys()):
            want, have = wanted.get(name), pair[1].get(name)
            if want != have:
                yield f"  {name}:"
                yield f"    expected: {_value(want)}"
                yield f"    got:      {_value(have)}"
    for labels, fired in unexpected:
        yield f"unexpected: {show(labels)}"
        yield from (f"  annotation {name}: {_value(value)}"
                    for name, value in sorted(fired.items()))


def show(labels: dict[str, str]) -> str:
    """A label set as Prometheus prints it, `alertname` left out."""
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}"
                           for k, v in sorted(labels.items()) if k != "alertname") + "}"


def _value(value: str | None) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)
