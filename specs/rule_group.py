"""`RuleGroup`: alerting and recording rules for Prometheus and vmalert, with threshold tiers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from specs.common import Duration, Labels, SecretRef, Spec, require_one_of
from specs.rule_tests import RuleTest

TargetName = Literal["prometheus", "vmalert"]


class Tier(Spec):
    """One tier of a tiered alert: its threshold and, optionally, its own `for` and labels."""

    value: float
    for_: Duration | None = Field(default=None, alias="for")
    labels: Labels = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_severity(self) -> Tier:
        if "severity" in self.labels:
            raise PydanticCustomError(
                "tier_severity", "a tier sets 'severity' itself (the tier's name)", {})
        return self


TierValue = float | Tier


class Thresholds(Spec):
    """Tiers by severity: `{warning: 80, critical: 95}`; `$threshold` in `expr` takes each value."""

    info: TierValue | None = None
    warning: TierValue | None = None
    error: TierValue | None = None
    critical: TierValue | None = None


class VMAlertRuleOptions(Spec):
    """Rule fields only vmalert knows; rendered into vmalert files only."""

    debug: bool | None = None
    """Log every evaluation of this rule (vmalert ≥ 1.82)."""
    update_entries_limit: Annotated[int, Field(ge=0)] | None = None
    """How many state updates vmalert keeps for this rule (vmalert ≥ 1.86)."""


class Rule(Spec):
    """An alerting rule (`alert`) or a recording rule (`record`)."""

    alert: Annotated[str, Field(min_length=1)] | None = None
    record: Annotated[str, Field(min_length=1)] | None = None
    expr: Annotated[str, Field(min_length=1)]
    """PromQL (MetricsQL for vmalert-only groups). `$threshold` stands for the tier's value."""
    for_: Duration | None = Field(default=None, alias="for")
    keep_firing_for: Duration | None = None
    """Prometheus ≥ 2.42, vmalert ≥ 1.92."""
    labels: Labels = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    thresholds: Thresholds | None = None
    targets: list[TargetName] | None = None
    """Restrict this rule to some of its group's targets."""
    vmalert: VMAlertRuleOptions | None = None

    @model_validator(mode="after")
    def _alert_or_record(self) -> Rule:
        if (self.alert is None) == (self.record is None):
            raise PydanticCustomError(
                "rule_kind", "a rule needs exactly one of 'alert' or 'record'", {}
            )
        if self.record is not None:
            for field, value in (("for", self.for_), ("keepFiringFor", self.keep_firing_for),
                                 ("annotations", self.annotations),
                                 ("thresholds", self.thresholds)):
                if value:
                    raise PydanticCustomError(
                        "rule_kind", "a recording rule cannot have '{field}'", {"field": field}
                    )
        return self


class Header(Spec):
    name: str
    value: str | None = None
    secret: SecretRef | None = None

    @model_validator(mode="after")
    def _value_or_secret(self) -> Header:
        require_one_of(self, "value", "secret", error="header_value", what="a header")
        return self


class VMAlertGroupOptions(Spec):
    """Group fields only vmalert knows; rendered into vmalert files only."""

    type: Literal["prometheus", "graphite"] | None = None
    concurrency: Annotated[int, Field(ge=1)] | None = None
    params: dict[str, list[str]] | None = None
    headers: list[Header] | None = None
    """vmalert ≥ 1.80."""
    notifier_headers: list[Header] | None = None
    """vmalert ≥ 1.91."""
    eval_offset: Duration | None = None
    """vmalert ≥ 1.94."""
    eval_delay: Duration | None = None
    """vmalert ≥ 1.95."""
    eval_alignment: bool | None = None
    """vmalert ≥ 1.95."""
    debug: bool | None = None
    """vmalert ≥ 1.117."""


def _both_targets() -> list[TargetName]:
    return ["prometheus", "vmalert"]


class RuleGroupSpec(Spec):
    interval: Duration | None = None
    """Evaluation interval; the project's default when unset."""
    limit: Annotated[int, Field(ge=0)] | None = None
    """Most alerts or series one rule may produce (Prometheus ≥ 2.31, vmalert ≥ 1.78)."""
    query_offset: Duration | None = None
    """Prometheus ≥ 2.53 only."""
    labels: Labels | None = None
    """Labels added to every rule of the group (Prometheus ≥ 3.0, vmalert ≥ 1.65)."""
    targets: list[TargetName] = Field(default_factory=lambda: _both_targets())
    vmalert: VMAlertGroupOptions | None = None
    rules: list[Rule] = Field(min_length=1)
    tests: list[RuleTest] = Field(default_factory=list)
    """Rule unit tests `converge test` runs with promtool; never rendered."""


__all__ = [
    "Rule",
    "RuleGroupSpec",
    "Thresholds",
    "Tier",
    "VMAlertGroupOptions",
    "VMAlertRuleOptions",
]
