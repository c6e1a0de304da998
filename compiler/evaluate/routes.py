"""Evaluate the route tree and inhibit rules on an alert's labels, as Alertmanager does.

Used by checks (does every alert reach a receiver?), by `converge diff` (which alerts now
reach other receivers?) and by routing tests. Labels an alert may or may not carry (those
its expression keeps) are `maybe`: a matcher on them is assumed to match, so findings are
never false alarms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from converge.compiler.matchers import Matcher, MatcherError
from converge.compiler.model import Route

MayHave = Callable[[str], bool]


def _never(_: str) -> bool:
    return False


def matches(matchers: Iterable[Matcher | MatcherError], labels: dict[str, str],
            may_have: MayHave = _never) -> bool:
    """Whether every matcher matches (unparsable matchers match nothing)."""
    for matcher in matchers:
        if isinstance(matcher, MatcherError):
            return False
        if matcher.name not in labels and may_have(matcher.name):
            continue
        if not matcher.matches(labels.get(matcher.name, "")):
            return False
    return True


def routes_for(root: Route, labels: dict[str, str],
               may_have: MayHave = _never) -> list[tuple[Route, str | None]]:
    """The routes an alert ends at, each with its effective receiver (inherited)."""
    return list(_match(root, labels, may_have, root.receiver))


def _match(route: Route, labels: dict[str, str], may_have: MayHave,
           inherited: str | None) -> Iterator[tuple[Route, str | None]]:
    receiver = route.receiver if route.receiver is not None else inherited
    found = False
    for child in route.routes:
        if not matches(child.matchers, labels, may_have):
            continue
        found = True
        yield from _match(child, labels, may_have, receiver)
        if not child.continue_:
            break
    if not found:
        yield route, receiver


def receivers_for(root: Route, labels: dict[str, str], may_have: MayHave = _never) -> list[str]:
    """The receivers an alert reaches, in order, without repeats; '' for none."""
    seen: list[str] = []
    for _, receiver in routes_for(root, labels, may_have):
        name = receiver or ""
        if name not in seen:
            seen.append(name)
    return seen


def escalating_for(root: Route, labels: dict[str, str]) -> list[Route]:
    """The routes with escalation levels an alert is escalated by: those it matches where
    they are tried (their escalation sibling route is tried at the same place)."""
    found: list[Route] = []

    def visit(route: Route) -> None:
        for child in route.routes:
            if not matches(child.matchers, labels):
                continue
            if child.escalation:
                found.append(child)
            visit(child)
            if not child.continue_:
                break

    visit(root)
    return found


def walk(route: Route) -> Iterator[Route]:
    """The route and all its descendants, depth first."""
    yield route
    for child in route.routes:
        yield from walk(child)
