"""`Project`: the single document in `converge.yaml` that says what is being built for."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from specs.common import Duration, Labels, Spec


class TargetSpec(Spec):
    """One target system and the version the rendered files must be accepted by."""

    enabled: bool = True
    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")]


class PrometheusTarget(TargetSpec):
    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")] = "2.42"


class VMAlertTarget(TargetSpec):
    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")] = "1.79"


class AlertmanagerTarget(TargetSpec):
    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")] = "0.25"


class Targets(Spec):
    """The targets rendered for, with their versions (defaults: Debian 12's)."""

    prometheus: PrometheusTarget = PrometheusTarget()
    vmalert: VMAlertTarget = VMAlertTarget()
    alertmanager: AlertmanagerTarget = AlertmanagerTarget()


class RuleDefaults(Spec):
    """Applied to every rule group and rule that does not say otherwise."""

    interval: Duration = "1m"
    """Evaluation interval of groups that set none."""
    labels: Labels = Field(default_factory=dict)
    """Labels added to every rule (a rule's own labels win)."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations added to every alert (an alert's own annotations win)."""


class ProjectSpec(Spec):
    targets: Targets = Targets()
    external_labels: Labels = Field(default_factory=dict)
    """Labels Prometheus adds to every alert it sends (its `external_labels`)."""
    notifier_url: Annotated[str, Field(pattern=r"^https?://")] = Field(
        default="http://127.0.0.1:9095", alias="notifierURL"
    )
    """Base URL of `converge notifier`, for channels Alertmanager cannot deliver itself."""
    defaults: RuleDefaults = RuleDefaults()
