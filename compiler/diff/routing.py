"""Routing impact: the alerts (each tier) that reach other receivers than before.

Each alert is run through its side's route tree with the labels it is known to carry (its
rule labels, `alertname` and the project's external labels), `continue` included, as
`route/unrouted-alert` does: labels the expression may keep are assumed to match. When
neither the route tree nor the external labels changed, only alerts that changed can
route differently, so only those are evaluated.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from converge.compiler import exprs
from converge.compiler.diff import rules
from converge.compiler.diff.changes import AlertRouting
from converge.compiler.diff.rules import Pair
from converge.compiler.evaluate import routes
from converge.compiler.model import Model, Route, Rule
from converge.specs.common import SEVERITY_ORDER

_TIER_RANK = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}


def impact(pairs: Iterable[Pair], base: Model, head: Model) -> list[AlertRouting]:
    """Alerts whose set of receivers differs, plus new and removed alerts with theirs."""
    everything = (_tree(base) != _tree(head)
                  or base.project.external_labels != head.project.external_labels)
    pairs = list(pairs)
    apart = rules.distinct_labels(pairs)
    found = []
    for p in pairs:
        placed = p.head or p.base
        assert placed is not None
        if placed.rule.kind != "alert" or (p.same and not everything):
            continue
        before = receivers(base, p.base.rule) if p.base else None
        after = receivers(head, p.head.rule) if p.head else None
        if before is None or after is None or set(before) != set(after):
            found.append(AlertRouting(placed.rule.name, placed.rule.tier, placed.group,
                                      before, after, apart.get(id(placed.rule), "")))
    return sorted(found, key=lambda a: (a.group, a.name, _TIER_RANK.get(a.tier or "", -1)))


def receivers(model: Model, rule: Rule) -> tuple[str, ...]:
    """The receivers an alert reaches in `model`, in order; empty: none (or no routing)."""
    if model.routing is None or not model.project.targets["alertmanager"].enabled:
        return ()
    labels = {**model.project.external_labels, **rule.labels, "alertname": rule.name}
    found = routes.receivers_for(model.routing.route, labels, _may_have(rule.raw_expr))
    return tuple(name for name in found if name)


def _may_have(expr: str) -> routes.MayHave:
    """Whether the expression's result may carry a label, parsing it only when a matcher
    asks about a label the alert does not carry statically (most never do)."""
    def may_have(name: str) -> bool:
        kept = exprs.labels(expr)
        return kept.may_have(name) if kept is not None else True
    return may_have


def _tree(model: Model) -> Hashable:
    """What decides where alerts go: receivers, matchers, `continue`, in tree order."""
    if model.routing is None or not model.project.targets["alertmanager"].enabled:
        return None
    return _route_key(model.routing.route)


def _route_key(route: Route) -> Hashable:
    return (route.receiver, tuple(map(str, route.matchers)), route.continue_,
            tuple(_route_key(child) for child in route.routes))
