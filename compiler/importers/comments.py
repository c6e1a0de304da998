"""Keep the comments of imported rule files: each on the group or rule it precedes.

PyYAML drops comments, so they are read from the text: every line that is only a
comment, outside a multi-line scalar (a `#` inside an `expr: |` block is PromQL), is
attached to the rule it is written inside, else to the next group or rule that starts
after it; comments after the last one go above the file's first group. `writer.render`
writes them back above that group's document or that rule. A comment at the end of a
line of YAML (`expr: up  # note`) is not kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import yaml

from converge.compiler.importers import documents as docs

Anchor = tuple[int, int | None]
"""(group ordinal in the file, rule index in the group; None for the group itself)."""


@dataclasses.dataclass(frozen=True, slots=True)
class FileComments:
    """The comments of one rule file, by the group or rule they precede."""

    by_anchor: dict[Anchor, tuple[str, ...]]
    trailing: tuple[str, ...] = ()
    """Comments after the last group or rule."""

    def count(self) -> int:
        """How many comment lines were found."""
        return sum(map(len, self.by_anchor.values())) + len(self.trailing)


def rule_file(text: str) -> FileComments:
    """The comments of a rule file (or PrometheusRule objects) by group and rule."""
    try:
        nodes = list(yaml.compose_all(text, Loader=docs.TextLoader))
    except yaml.YAMLError:
        return FileComments({})
    anchors: list[tuple[int, Anchor]] = []
    within: dict[int, Anchor] = {}
    inside: set[int] = set()
    ordinal = 0
    for node in nodes:
        for group in _groups(node):
            anchors.append((group.start_mark.line, (ordinal, None)))
            for index, rule in enumerate(_rules(group)):
                anchors.append((rule.start_mark.line, (ordinal, index)))
                within.update(dict.fromkeys(range(rule.start_mark.line, rule.end_mark.line),
                                            (ordinal, index)))
            ordinal += 1
        inside |= _scalar_lines(node)
    anchors.sort(key=lambda anchor: anchor[0])
    found: dict[Anchor, list[str]] = {}
    trailing: list[str] = []
    lines = text.splitlines()
    position = 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith("#") or number in inside:
            continue
        while position < len(anchors) and anchors[position][0] < number:
            position += 1
        if number in within:  # inside a rule: above that rule
            found.setdefault(within[number], []).append(stripped)
        elif position < len(anchors):
            found.setdefault(anchors[position][1], []).append(stripped)
        else:
            trailing.append(stripped)
    return FileComments({k: tuple(v) for k, v in found.items()}, tuple(trailing))


def _groups(node: yaml.Node) -> Iterator[yaml.MappingNode]:
    """Group mappings in document order: under any `groups:` key, at any depth."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "groups" and isinstance(value, yaml.SequenceNode):
                yield from (g for g in value.value if isinstance(g, yaml.MappingNode))
            else:
                yield from _groups(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _groups(item)


def _rules(group: yaml.MappingNode) -> list[yaml.Node]:
    for key, value in group.value:
        if getattr(key, "value", None) == "rules" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _scalar_lines(node: yaml.Node) -> set[int]:
    """Lines inside multi-line scalars, after their first line (never comments)."""
    found: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            first, last = current.start_mark.line, current.end_mark.line
            if current.end_mark.column == 0:  # ends where the next line starts
                last -= 1
            if last > first:
                found.update(range(first + 1, last + 1))
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack += [key, value]
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value
    return found
