"""`RuleGroup`: alerting and recording rules for Prometheus and vmalert, with threshold tiers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from converge.specs.common import Duration, Labels, SecretRef, Spec, require_one_of
from converge.specs.rule_tests import RuleTest

TargetName = Literal["prometheus", "vmalert"]


class Tier(Spec):
    """One tier of a tiered alert: its threshold and, optionally, its own `for` and labels."""

    value: float
    """Replaces `$threshold` in the rule's `expr` and annotations."""
    for_: Duration | None = Field(default=None, alias="for")
    """This tier's `for`; the rule's when unset."""
    labels: Labels = Field(default_factory=dict)
    """Labels added to this tier only; `severity` is set by the tier itself."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations added to this tier only (`$threshold` is replaced here too)."""

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
    """The `info` tier: a threshold value, or a tier with its own `for` and labels."""
    warning: TierValue | None = None
    """The `warning` tier: a threshold value, or a tier with its own `for` and labels."""
    error: TierValue | None = None
    """The `error` tier: a threshold value, or a tier with its own `for` and labels."""
    critical: TierValue | None = None
    """The `critical` tier: a threshold value, or a tier with its own `for` and labels."""


class VMAlertRuleOptions(Spec):
    """Rule fields only vmalert knows; rendered into vmalert files only."""

    debug: bool | None = None
    """Log every evaluation of this rule (vmalert ≥ 1.82)."""
    update_entries_limit: Annotated[int, Field(ge=0)] | None = None
    """How many state updates vmalert keeps for this rule (vmalert ≥ 1.86)."""


class Rule(Spec):
    """An alerting rule (`alert`) or a recording rule (`record`)."""

    alert: Annotated[str, Field(min_length=1)] | None = None
    """Alert name (its `alertname` label); set this or `record`."""
    record: Annotated[str, Field(min_length=1)] | None = None
    """Name of the recorded series (`level:metric:operations`); set this or `alert`."""
    expr: Annotated[str, Field(min_length=1)]
    """PromQL (MetricsQL for vmalert-only groups). `$threshold` stands for the tier's value."""
    for_: Duration | None = Field(default=None, alias="for")
    """How long the condition must hold before the alert fires; alerts only."""
    keep_firing_for: Duration | None = None
    """Keep firing this long after the condition clears (Prometheus ≥ 2.42, vmalert ≥ 1.92)."""
    labels: Labels = Field(default_factory=dict)
    """Labels added to the alert or series; an alert's label values may be Go templates."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations of the alert, Go templates expanded when it fires; alerts only."""
    thresholds: Thresholds | None = None
    """Tiers by severity: one alert per tier, `$threshold` in `expr` taking each value."""
    targets: list[TargetName] | None = None
    """Restrict this rule to some of its group's targets; the group's when unset."""
    vmalert: VMAlertRuleOptions | None = None
    """Rule options only vmalert knows."""

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
    """An HTTP header: `{name, value}`, or `{name, secret}` when it carries a token."""

    name: str
    """Header name, e.g. `Authorization`."""
    value: str | None = None
    """Header value; set this or `secret`."""
    secret: SecretRef | None = None
    """Header value read from a secret; set this or `value`."""

    @model_validator(mode="after")
    def _value_or_secret(self) -> Header:
        require_one_of(self, "value", "secret", error="header_value", what="a header")
        return self


class VMAlertGroupOptions(Spec):
    """Group fields only vmalert knows; rendered into vmalert files only."""

    type: Literal["prometheus", "graphite"] | None = None
    """Datasource type (vmalert ≥ 1.53)."""
    concurrency: Annotated[int, Field(ge=1)] | None = None
    """How many of the group's rules are evaluated at once."""
    params: dict[str, list[str]] | None = None
    """Extra query parameters for the datasource (vmalert ≥ 1.70)."""
    headers: list[Header] | None = None
    """Extra HTTP headers for datasource queries (vmalert ≥ 1.80)."""
    notifier_headers: list[Header] | None = None
    """Extra HTTP headers for notifier requests (vmalert ≥ 1.91)."""
    eval_offset: Duration | None = None
    """Evaluate at this offset within the interval (vmalert ≥ 1.94)."""
    eval_delay: Duration | None = None
    """Shift the evaluation time back by this much (vmalert ≥ 1.95)."""
    eval_alignment: bool | None = None
    """Align evaluation timestamps to the interval (vmalert ≥ 1.95)."""
    debug: bool | None = None
    """Log every evaluation of the group's rules (vmalert ≥ 1.117)."""


def _both_targets() -> list[TargetName]:
    return ["prometheus", "vmalert"]


class RuleGroupSpec(Spec):
    """Alerting and recording rules evaluated together at one interval."""

    name: Annotated[str, Field(min_length=1)] | None = None
    """The group's name in rendered files, its identity in Prometheus; `metadata.name` if unset."""
    interval: Duration | None = None
    """Evaluation interval, not `0s`; else the Project's `defaults.interval`, else the target's."""
    limit: Annotated[int, Field(ge=0)] | None = None
    """Most alerts or series one rule may produce (Prometheus ≥ 2.31, vmalert ≥ 1.78)."""
    query_offset: Duration | None = None
    """Evaluate this far in the past (Prometheus ≥ 2.53; vmalert never)."""
    labels: Labels | None = None
    """Labels added to every rule of the group (Prometheus ≥ 3.0, vmalert ≥ 1.65)."""
    targets: list[TargetName] = Field(default_factory=lambda: _both_targets())
    """Which systems evaluate the group (those the Project enables)."""
    vmalert: VMAlertGroupOptions | None = None
    """Group options only vmalert knows."""
    rules: list[Rule] = Field(min_length=1)
    """The group's alerting and recording rules."""
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
