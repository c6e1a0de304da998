"""Compile both sides of a diff in memory, without doing the same work twice.

Each side is checked in full (a change in one file can break a check anywhere), but:

* two sides with the same spec files byte for byte are compiled once;
* the head renders only the rule groups that may differ. A group's rule files depend on
  nothing but the group and the project, so a group from a file identical on both sides,
  under an equal project, renders to the base's bytes, which are taken as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from compiler import pipeline, render
from compiler.diff import files
from compiler.diff.model import Side
from compiler.model import Model, Project, RuleGroup
from compiler.sources import SourceFile


@dataclasses.dataclass(frozen=True, slots=True)
class Compiled:
    """One side: its check result, and when it has no errors, its rendered side."""

    result: pipeline.CheckResult
    side: Side | None


def compile_pair(base: Sequence[SourceFile],
                 head: Sequence[SourceFile]) -> tuple[Compiled, Compiled]:
    """Check and render both sides."""
    first = _compile(base, None, {})
    if _contents(base) == _contents(head):
        return first, first
    return first, _compile(head, first.side, _contents(base))


def render_reusing(model: Model, base: Side | None, unchanged: frozenset[str]) -> dict[str, str]:
    """`render.render(model)`, taking from `base` the rule files of groups from files in
    `unchanged` (spec paths whose bytes are the same on both sides)."""
    if base is None or _project(model.project) != _project(base.model.project):
        return render.render(model)
    before = {g.name: g for g in base.model.groups}
    reused: list[RuleGroup] = []
    fresh: list[RuleGroup] = []
    for group in model.groups:
        old = before.get(group.name)
        same = (old is not None and group.origin.document.path in unchanged
                and old.origin.document.path == group.origin.document.path
                and old.origin.document.index == group.origin.document.index)
        (reused if same else fresh).append(group)
    rendered = render.render(dataclasses.replace(model, groups=tuple(fresh)))
    for group in reused:
        for target in files.RULE_TARGETS:
            path = files.rule_file(target, group.name)
            if path in base.files:
                rendered[path] = base.files[path]
    return dict(sorted(rendered.items()))


def _compile(sources: Sequence[SourceFile], base: Side | None,
             base_contents: Mapping[str, bytes]) -> Compiled:
    result = pipeline.check(sources)
    if not result.ok or result.model is None:
        return Compiled(result, None)
    unchanged = frozenset(s.path for s in sources if base_contents.get(s.path) == s.data)
    rendered = render_reusing(result.model, base, unchanged)
    return Compiled(result, Side.of(result.model, rendered))


def _contents(sources: Sequence[SourceFile]) -> dict[str, bytes]:
    return {s.path: s.data for s in sources}


def _project(project: Project) -> Project:
    """The project without its origin: what rendering reads of it."""
    return dataclasses.replace(project, origin=None)
