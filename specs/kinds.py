"""The registry of document kinds: `kind:` value → the model of its `spec`."""

from __future__ import annotations

from pydantic import BaseModel

from converge.specs.channel import ChannelBase
from converge.specs.healing_policy import HealingPolicySpec
from converge.specs.project import ProjectSpec
from converge.specs.routing import RoutingSpec
from converge.specs.rule_group import RuleGroupSpec
from converge.specs.worker_pool import WorkerPoolSpec

SPEC_MODELS: dict[str, type[BaseModel]] = {
    "Project": ProjectSpec,
    "RuleGroup": RuleGroupSpec,
    "Channel": ChannelBase,
    "Routing": RoutingSpec,
    "WorkerPool": WorkerPoolSpec,
    "HealingPolicy": HealingPolicySpec,
}
"""Every kind. `Channel` is dispatched further by its `type` (see `converge.specs.channel`)."""

KINDS: tuple[str, ...] = tuple(SPEC_MODELS)
