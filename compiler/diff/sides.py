"""Compile both sides of a diff in memory, without doing the same work twice.

Each side is checked in full (a change in one file can break a check anywhere), but:

* two sides with the same spec files byte for byte are compiled once;
* the checks of the two sides share their work (`pipeline.Shared`): a file both sides
  hold is loaded and validated once, and one worker (`compiler.parallel.check_worker`) loads
  part of the files of both sides and analyses the PromQL of both, most of it the same;
* the head renders only the rule groups that may differ. A group's rule files depend on
  nothing but the group and the project, so a group from a file identical on both sides,
  under an equal project, renders to the base's bytes, which are taken as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from converge.compiler import pipeline, render, sources
from converge.compiler.diff import files
from converge.compiler.diff.model import Side
from converge.compiler.model import Model, Project, RuleGroup
from converge.compiler.parallel import check_worker, render_worker
from converge.compiler.sources import SourceFile


@dataclasses.dataclass(frozen=True, slots=True)
class Compiled:
    """One side: its check result, and when it has no errors, its rendered side."""

    result: pipeline.CheckResult
    side: Side | None


def compile_pair(base: Sequence[SourceFile], head: Sequence[SourceFile], *,
                 worker: check_worker.Worker | None = None) -> tuple[Compiled, Compiled]:
    """Check and render both sides.

    `worker`: one the caller started on `sources.union(base, head)`; by default one is
    started here when the files are big enough.
    """
    both = sources.union(base, head)
    shared = pipeline.preload(both, worker if worker is not None else check_worker.start(both))
    same = _contents(base) == _contents(head)
    # The base renders in a forked worker while its checks run and the head is checked:
    # at 10,000 rules its 0.35 s of rendering then costs 0.05 s (receiving the files).
    asides: list[render_worker.Aside] = []
    try:
        checked = pipeline.check(base, shared=shared, expanded=None if same else (
            lambda model: asides.append(render_worker.Aside(model))))
        if same:
            first = Compiled(checked, _side(checked, render.render))
            return first, first
        second = pipeline.check(head, shared=shared)
        first = Compiled(checked, _side(checked, lambda _: asides.pop().files()))
        before = _contents(base)
        unchanged = frozenset(s.path for s in head if before.get(s.path) == s.data)
        return first, Compiled(second, _side(
            second, lambda model: render_reusing(model, first.side, unchanged)))
    finally:
        for aside in asides:  # the base has errors: its files are not wanted
            aside.cancel()
        shared.close()


def render_reusing(model: Model, base: Side | None, unchanged: frozenset[str]) -> dict[str, str]:
    """`render.render(model)`, taking from `base` the rule files of groups from files in
    `unchanged` (spec paths whose bytes are the same on both sides)."""
    if (base is None or _project(model.project) != _project(base.model.project)
            or model.project.kubernetes):  # its objects and kustomization span every group
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


def _side(result: pipeline.CheckResult, rendering: Callable[[Model], dict[str, str]]
          ) -> Side | None:
    """The rendered side of a check without errors (rendered by `rendering`)."""
    if not result.ok or result.model is None:
        return None
    return Side.of(result.model, rendering(result.model))


def _contents(sources: Sequence[SourceFile]) -> dict[str, bytes]:
    return {s.path: s.data for s in sources}


def _project(project: Project) -> Project:
    """The project without its origin: what rendering reads of it."""
    return dataclasses.replace(project, origin=None)
