"""`Project`: the single document in `converge.yaml` that says what is being built for."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from converge.specs.common import Duration, Labels, ResourceName, Spec


class TargetSpec(Spec):
    """One target system and the version the rendered files must be accepted by."""

    enabled: bool = True
    """`false`: nothing is rendered for this target and its version gates nothing."""
    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")]
    """Version the rendered files must be accepted by, quoted (`"2.42"`); gates fields."""


class PrometheusTarget(TargetSpec):
    """Prometheus, which evaluates the rule files (default version: Debian 12's 2.42)."""

    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")] = "2.42"


class VMAlertTarget(TargetSpec):
    """vmalert, which evaluates the rule files (default version: Debian 12's 1.79)."""

    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")] = "1.79"


class AlertmanagerTarget(TargetSpec):
    """Alertmanager, which loads the routing and channels (default version: Debian 12's 0.25)."""

    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")] = "0.25"


class Targets(Spec):
    """The targets rendered for, with their versions (defaults: Debian 12's)."""

    prometheus: PrometheusTarget = PrometheusTarget()
    """Prometheus rule files."""
    vmalert: VMAlertTarget = VMAlertTarget()
    """vmalert rule files."""
    alertmanager: AlertmanagerTarget = AlertmanagerTarget()
    """The Alertmanager configuration."""


class RuleDefaults(Spec):
    """Applied to every rule group and rule that does not say otherwise."""

    interval: Duration | None = None
    """Evaluation interval of groups that set none; unset, each target's global one applies."""
    labels: Labels = Field(default_factory=dict)
    """Labels added to every rule (a rule's own labels win)."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations added to every alert (an alert's own annotations win)."""


class MetaMonitoring(Spec):
    """Alert rules for converge's own daemons, added to the rendered Prometheus rules.

    They fire when a sidecar's syncs keep failing, a target runs something other than what
    was compiled, a sidecar has not synced for `staleAfter`, or a daemon is down.
    """

    enabled: bool = False
    """Render the meta-monitoring rule group."""
    group: ResourceName = "converge-meta"
    """Name of the generated rule group (and of its rule file)."""
    sidecar_job: Annotated[str, Field(min_length=1)] = "converge-sidecar"
    """The `job` label Prometheus gives the sidecars' `/metrics` targets."""
    server_job: Annotated[str, Field(min_length=1)] = "converge-server"
    """The `job` label Prometheus gives the config server's `/metrics` target."""
    for_: Duration = Field(default="10m", alias="for")
    """How long a problem lasts before its alert fires."""
    stale_after: Duration = "1h"
    """A sidecar without a successful sync for this long is stale."""
    labels: Labels = Field(default_factory=dict)
    """Labels added to every meta-monitoring alert (for routing, e.g. `team`)."""


class ProjectSpec(Spec):
    """What the repository is compiled for: targets, external labels, rule defaults."""

    targets: Targets = Targets()
    """The target systems rendered for and their versions."""
    external_labels: Labels = Field(default_factory=dict)
    """Labels Prometheus adds to every alert it sends (its `external_labels`)."""
    notifier_url: Annotated[str, Field(pattern=r"^https?://")] = Field(
        default="http://127.0.0.1:9095", alias="notifierURL"
    )
    """Base URL of `converge notifier`, for channels Alertmanager cannot deliver itself."""
    defaults: RuleDefaults = RuleDefaults()
    """Interval, labels and annotations for every rule group and rule."""
    meta_monitoring: MetaMonitoring = MetaMonitoring()
    """Alert rules watching converge's own sidecars and config server."""
