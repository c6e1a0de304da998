"""Which policy watches which container: labels, compose project/service, name glob.

Pure. A container matches a selector when it matches every part given; when several
policies select one container, the first by name wins (policies come in name order), so
the choice never depends on document order.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from converge.reconciler.healer.config import Policy, Selector
from converge.reconciler.healer.containers import COMPOSE_PROJECT, COMPOSE_SERVICE, Container

__all__ = ["matches", "policy_for"]


def matches(selector: Selector, container: Container) -> bool:
    """Whether `container` matches every part of `selector` (an empty one matches all)."""
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
    """The first policy (by name) selecting `container`, or None."""
    for policy in policies:
        if matches(policy.selector, container):
            return policy
    return None
