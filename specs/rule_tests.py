"""Rule unit tests of a `RuleGroup` (`spec.tests`): promtool's test format, in camelCase.

Each test case gives input series and the alerts (or query results) expected at given
evaluation times; `converge test` renders it for `promtool test rules` against the group's
rendered Prometheus rule file. Field names follow promtool's (`input_series` →
`inputSeries`), so its documentation applies.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from converge.specs.common import Duration, Labels, Spec


def _text(value: Any) -> Any:
    """Accept a bare number where promtool takes a string of values (`values: 1`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


SeriesValues = Annotated[str, BeforeValidator(_text)]


class InputSeries(Spec):
    """One input series and its samples, one every `interval`."""

    series: Annotated[str, Field(min_length=1)]
    """The series in PromQL notation: `metric{label="value", …}`."""
    values: SeriesValues = ""
    """Samples in promtool's expanding notation: `1 2 3`, `0+10x5` (0, 10, …, 50),
    `_` (no sample), `_x3`, `stale`."""


class ExpectedAlert(Spec):
    """One alert expected to fire: its complete labels and annotations."""

    exp_labels: Labels = Field(default_factory=dict)
    """Every label of the alert but `alertname`: the series' labels, the rule's labels
    (Project defaults included) and, for a tier, its `severity`."""
    exp_annotations: dict[str, str] = Field(default_factory=dict)
    """Every annotation, with its templates expanded."""


class AlertRuleTest(Spec):
    """The alerts of one name firing at one evaluation time."""

    eval_time: Duration
    """Time since the first sample."""
    alertname: Annotated[str, Field(min_length=1)]
    """An alert of this group; every tier of a tiered alert shares its name."""
    exp_alerts: list[ExpectedAlert] = Field(default_factory=list)
    """All alerts of that name firing at `evalTime` (none when empty)."""


class ExpectedSample(Spec):
    """One sample of a query result."""

    labels: str = ""
    """The series in PromQL notation (`job:up:sum{job="api"}`), or `{}` for none."""
    value: float
    """The sample's value."""


class PromqlExprTest(Spec):
    """The result of one PromQL expression at one evaluation time."""

    expr: Annotated[str, Field(min_length=1)]
    """The PromQL expression to evaluate."""
    eval_time: Duration
    """Time since the first sample."""
    exp_samples: list[ExpectedSample] = Field(default_factory=list)
    """Every sample of the result (none when empty)."""


class RuleTest(Spec):
    """One test case: input series and what the group's rules make of them."""

    name: str | None = None
    """Shown in failures; the case's position is shown anyway."""
    interval: Duration | None = None
    """Time between input samples; the group's interval when unset."""
    input_series: list[InputSeries] = Field(default_factory=list)
    """The series the rules read, with their samples."""
    alert_rule_tests: list[AlertRuleTest] = Field(default_factory=list)
    """Alerts expected to fire (or not) at given evaluation times."""
    promql_expr_tests: list[PromqlExprTest] = Field(default_factory=list)
    """PromQL expressions and their expected results at given evaluation times."""
    external_labels: Labels | None = None
    """`$externalLabels` in templates; the Project's `externalLabels` when unset."""


__all__ = [
    "AlertRuleTest",
    "ExpectedAlert",
    "ExpectedSample",
    "InputSeries",
    "PromqlExprTest",
    "RuleTest",
]
