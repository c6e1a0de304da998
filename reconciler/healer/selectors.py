"""Which policy watches which container: labels, compose project/service, name glob.

Pure. A container matches a selector when it matches every part given; when several
policies select one container, the first by name wins (policies come in name order), so
the choice never depends on document order.

Two refusals back up the compiler's checks (`healing/empty-selector`,
`healing/exec-unlabelled`) for a bundle that did not come from `converge compile`: an
empty selector matches nothing (never every container on the engine), and a policy with
an `exec` check selects only by an explicit label (its own or Compose's), never by name
alone, since it runs a command inside what it selects.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from converge.reconciler.healer.config import Policy, Selector
from converge.reconciler.healer.containers import COMPOSE_PROJECT, COMPOSE_SERVICE, Container

__all__ = ["by_label", "is_empty", "matches", "policy_for", "refusal"]


def by_label(selector: Selector) -> bool:
    """Whether `selector` names a label: its own, or Compose's project or service."""
    return bool(selector.labels or selector.compose_project or selector.compose_service)


def is_empty(selector: Selector) -> bool:
    """Whether `selector` narrows nothing (no label, no Compose part, no glob but `*`)."""
    return not by_label(selector) and not (selector.name_pattern or "").strip("*")


def refusal(policy: Policy) -> str | None:
    """Why the healer will not act for `policy` at all, or None."""
    if is_empty(policy.selector):
        return "its selector is empty: it would select every container on the engine"
    if policy.check.type == "exec" and not by_label(policy.selector):
        return "an exec check needs a selector with a label (or a Compose project/service)"
    return None


def matches(selector: Selector, container: Container) -> bool:
    """Whether `container` matches every part of `selector` (an empty one matches none)."""
    if is_empty(selector):
        return False
    labels = container.labels
    if any(labels.get(key) != value for key, value in selector.labels):
        return False
    if selector.compose_project is not None and (
            labels.get(COMPOSE_PROJECT) != selector.compose_project):
        return False
    if selector.compose_service is not None and (
            labels.get(COMPOSE_SERVICE) != selector.compose_service):
        return False
    return selector.name_pattern is None or fnmatch.fnmatchcase(
        container.name, selector.name_pattern)


def policy_for(policies: Sequence[Policy], container: Container) -> Policy | None:
    """The first policy (by name) selecting `container` that is not refused, or None."""
    for policy in policies:
        if refusal(policy) is None and matches(policy.selector, container):
            return policy
    return None
