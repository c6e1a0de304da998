"""A fast, cached front to `compiler.gotemplate` for the checks.

Most alert templates are made of a few simple actions: `{{ $labels.instance }}`,
`{{ $value | humanizePercentage }}`, `{{ printf "%.2f" $value }}`,
`{{ if gt $value 80.0 }}…{{ else }}…{{ end }}`. A template made only of those is decided
by regular expressions; anything else goes to the full Go template parser. Results are
cached, since repositories repeat annotations (runbook links, summaries) many times.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from compiler import gotemplate

_ACTION = re.compile(r"\{\{(?:- |\s*)(?P<body>[^{}]*?)(?:\s+-|\s*)\}\}")
_VALUE = r"\$(?:(?:labels|externalLabels)\.[A-Za-z_][A-Za-z0-9_]*|value|externalURL)"
_STRING = r'"[^"\\{}]*"'
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_FORMS = [re.compile(pattern) for pattern in (
    rf"(?P<v>{_VALUE})(?:\s*\|\s*(?P<f>[A-Za-z_][A-Za-z0-9_]*)(?:\s+{_STRING})?)?",
    rf"(?P<f>printf)\s+{_STRING}\s+(?P<v>{_VALUE})",
    rf"if\s+(?P<f>gt|lt|ge|le|eq|ne)\s+(?P<v>{_VALUE})\s+{_NUMBER}",
    r"else",
    r"end",
)]
_LABEL = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclasses.dataclass(frozen=True, slots=True)
class _Simple:
    """What a template made only of simple actions uses."""

    functions: frozenset[str]
    variables: frozenset[str]
    references: tuple[gotemplate.LabelReference, ...]


@functools.lru_cache(maxsize=16384)
def _simple(text: str) -> _Simple | None:
    """The names and label references of a template made only of simple actions, else None."""
    if "{{" not in text:
        return _Simple(frozenset(), frozenset(), ())
    references: list[gotemplate.LabelReference] = []
    functions: set[str] = set()
    variables: set[str] = set()
    open_ifs: list[bool] = []  # per open {{if}}: has it had its {{else}}?
    for action in _ACTION.finditer(text):
        body = action["body"]
        found = next((m for m in (f.fullmatch(body) for f in _FORMS) if m), None)
        if found is None:
            return None
        if body.startswith("if"):
            open_ifs.append(False)
        elif body == "else":
            if not open_ifs or open_ifs[-1]:
                return None  # a stray or second {{else}}: the parser says which
            open_ifs[-1] = True
        elif body == "end":
            if not open_ifs:
                return None
            open_ifs.pop()
        groups = found.groupdict()
        if groups.get("f"):
            functions.add(groups["f"])
        if groups.get("v"):
            variables.add(groups["v"].split(".")[0])
        references.extend(gotemplate.LabelReference(m[1], action.start("body") + m.start(1))
                          for m in _LABEL.finditer(body))
    if open_ifs or "{{" in _ACTION.sub("", text):
        return None
    return _Simple(frozenset(functions), frozenset(variables), tuple(references))


@functools.lru_cache(maxsize=16384)
def problems(text: str, dialect: str,
             unavailable: frozenset[str] = frozenset()) -> tuple[gotemplate.TemplateProblem, ...]:
    """What Go's template parser would reject in `text` (see `gotemplate.template_problems`)."""
    simple = _simple(text)
    if simple is not None:
        functions, variables = gotemplate.known_names(dialect)  # type: ignore[arg-type]
        if simple.functions <= functions - unavailable and all(
                v in variables and v not in unavailable for v in simple.variables):
            return ()
    return tuple(gotemplate.template_problems(text, dialect=dialect,  # type: ignore[arg-type]
                                              unavailable=unavailable))


def label_references(text: str) -> tuple[gotemplate.LabelReference, ...]:
    """The alert labels `text` reads (see `gotemplate.label_references`)."""
    simple = _simple(text)
    return simple.references if simple is not None else _full_references(text)


@functools.lru_cache(maxsize=16384)
def _full_references(text: str) -> tuple[gotemplate.LabelReference, ...]:
    return tuple(gotemplate.label_references(text))
