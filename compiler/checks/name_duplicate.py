"""Names that must be unique are unique.

Each kind's `metadata.name` is unique (it names rendered files and Alertmanager
receivers); there is one `Project` and one `Routing` document; time interval names are
unique; and no rule group repeats a rule exactly (same name, expression and labels),
which vmalert rejects and promtool only lints.

Fix: rename or remove one of the two.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin

CODE = "name/duplicate"
SEVERITY = Severity.ERROR
SUMMARY = "a name that must be unique is used twice"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for kind, items in (("RuleGroup", model.groups), ("Channel", model.channels),
                        ("WorkerPool", model.pools), ("HealingPolicy", model.healing)):
        yield from _unique(ctx, kind, [(i.name, i.origin) for i in items])
    for origin in model.extra_projects:
        yield _second(ctx, origin, "a second Project document",
                      "keep one Project, in converge.yaml at the repository root")
    for origin in model.extra_routings:
        yield _second(ctx, origin, "a second Routing document",
                      "Alertmanager has one route tree: merge them into one Routing")
    if model.routing is not None:
        intervals = [(t.name, model.routing.origin.child("timeIntervals", i, "name"))
                     for i, t in enumerate(model.routing.time_intervals)]
        yield from _unique(ctx, "time interval", intervals, metadata=False)
    for group in model.groups:
        seen: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Origin] = {}
        for rule in group.rules:
            for target in rule.targets:
                identity = (target, rule.name, rule.expr, tuple(sorted(rule.labels.items())))
                if identity in seen and seen[identity] != rule.origin:
                    yield ctx.diag(rule.origin, CODE,
                                   f"rule {rule.name!r} repeats an earlier rule of the group "
                                   f"exactly (same name, expression and labels) for {target}",
                                   hint="vmalert rejects exact duplicates: remove one")
                    break
                seen.setdefault(identity, rule.origin)


def _unique(ctx: Context, kind: str, named: list[tuple[str, Origin]], *,
            metadata: bool = True) -> Iterator[Diagnostic]:
    first: dict[str, Origin] = {}
    for name, origin in named:
        if name in first:
            where = first[name]
            if metadata:
                origin, where = (Origin(o.document, ("metadata", "name")) for o in (origin, where))
            yield ctx.diag(origin, CODE, f"{kind} name {name!r} is already used",
                           hint=f"first defined in {where.document.path} line "
                                f"{where.document.locate(where.path).line}")
        else:
            first[name] = origin


def _second(ctx: Context, origin: Origin, what: str, hint: str) -> Diagnostic:
    return ctx.diag(Origin(origin.document, ("kind",)), CODE, what, hint=hint)
