"""Write spec documents as YAML a person would have written, which reads back exactly.

Block style, keys in the order the importer built them (apiVersion, kind, metadata,
spec; alert, expr, for, …), multi-line strings as `|` blocks, short lists of scalars and
secret references in flow style (`groupBy: [alertname, cluster]`, `{env: NAME}`).
PyYAML's emitter quotes the strings PyYAML would read as something else; the compiler's
loader resolves a few more (`1e3` is a number there), so `render` loads its text back
with that very loader and quotes whatever did not survive. Every string round-trips.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from converge.compiler import loader
from converge.compiler.importers.result import Comments, Document

_FLOW_WIDTH = 72
_SECRET_KEYS = ({"env"}, {"file"})
_ATTEMPTS = 3
_RULE_ITEM = re.compile(r"^    - (?:alert|record): ", re.MULTILINE)
"""A rule of `spec.rules` as `_dump` writes it (nothing else is a list item at 4)."""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Indents lists under their key; never writes anchors and aliases."""

    quoted: frozenset[str] = frozenset()
    """Strings to write double-quoted: written otherwise, they did not read back the same."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    style = '"' if data in dumper.quoted else ("|" if "\n" in data.rstrip("\n") else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_dict(dumper: _Dumper, data: dict[str, Any]) -> yaml.Node:
    flow = set(data) in _SECRET_KEYS and all(isinstance(v, str) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.Node:
    flow = bool(data) and all(
        isinstance(item, str) and "\n" not in item for item in data
    ) and sum(len(item) + 4 for item in data) <= _FLOW_WIDTH
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)


def render(documents: Sequence[Document], *, header: str = "",
           comments: Sequence[Comments] = ()) -> str:
    """The text of a spec file holding `documents`, with `header` as a leading comment.

    `comments` (per document) are written above the document or one of its rules.

    Raises:
        AssertionError: the text does not load back as the same values (a bug).
    """
    comment = "".join(f"# {_printable(line)}".rstrip() + "\n" for line in header.splitlines())
    expected = [_plain(d) for d in documents]
    quoted: set[str] = set()
    for _ in range(_ATTEMPTS):
        dumper = type("_QuotingDumper", (_Dumper,), {"quoted": frozenset(quoted)})
        notes = [*comments, *([{}] * (len(documents) - len(comments)))]
        text = comment + "---\n".join(_commented(_dump(d, dumper), n)
                                      for d, n in zip(documents, notes, strict=True))
        loaded = loader.load("import.yaml", text.encode("utf-8"))
        if not loaded.diagnostics and [d.body for d in loaded.documents] == expected:
            return text
        changed = set(_changed(expected, [d.body for d in loaded.documents]))
        if not changed - quoted:
            break
        quoted |= changed
    raise AssertionError("written YAML does not load back the same")


def _printable(text: str) -> str:
    """Comment text with control characters escaped (YAML forbids them, even in comments)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _commented(text: str, comments: Comments) -> str:
    """A dumped document with comment lines above it and above its rules."""
    if not comments:
        return text
    items = list(_RULE_ITEM.finditer(text))
    for index in sorted((k for k in comments if k is not None), reverse=True):
        if index < len(items):
            start = items[index].start()
            lines = "".join(f"    {_printable(c)}\n" for c in comments[index])
            text = text[:start] + lines + text[start:]
    return "".join(f"{_printable(c)}\n" for c in comments.get(None, ())) + text


def _dump(document: Document, dumper: type[_Dumper]) -> str:
    text: str = yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=1_000_000, indent=2)
    return text


def _changed(expected: Any, loaded: Any) -> list[str]:
    """The strings of `expected` (keys and values) that `loaded` does not hold as such."""
    if isinstance(expected, str):
        return [] if expected == loaded else [expected]
    if isinstance(expected, dict):
        other = loaded if isinstance(loaded, dict) else {}
        found = [key for key in expected if key not in other]
        for key, value in expected.items():
            found += _changed(value, other.get(key))
        return found
    if isinstance(expected, list):
        other_list = loaded if isinstance(loaded, list) else []
        found = []
        for index, value in enumerate(expected):
            found += _changed(value, other_list[index] if index < len(other_list) else None)
        return found
    return []


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
