"""The registry of document kinds: `kind:` value → the model of its `spec`."""

from __future__ import annotations

from pydantic import BaseModel

from specs.channel import ChannelBase
from specs.healing_policy import HealingPolicySpec
from specs.project import ProjectSpec
from specs.routing import RoutingSpec
from specs.rule_group import RuleGroupSpec
from specs.worker_pool import WorkerPoolSpec

SPEC_MODELS: dict[str, type[BaseModel]] = {
    "Project": ProjectSpec,
    "RuleGroup": RuleGroupSpec,
    "Channel": ChannelBase,
    "Routing": RoutingSpec,
    "WorkerPool": WorkerPoolSpec,
    "HealingPolicy": HealingPolicySpec,
}
"""Every kind. `Channel` is dispatched further by its `type` (see `specs.channel`)."""

KINDS: tuple[str, ...] = tuple(SPEC_MODELS)
