"""`Project`: the single document in `converge.yaml` that says what is being built for."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from converge.specs.common import Duration, Labels, ResourceName, Spec

_VERSION = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"
_NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_OBJECT_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
_LABEL_KEY = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
              r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

KubernetesLabels = dict[Annotated[str, Field(pattern=_LABEL_KEY)],
                        Annotated[str, Field(pattern=_LABEL_VALUE)]]
"""Kubernetes object labels: `[prefix/]name` keys, values of at most 63 characters."""


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


class KubernetesTarget(TargetSpec):
    """A Kubernetes operator that reads converge's output as objects (off unless given)."""

    namespace: Annotated[str, Field(pattern=_NAMESPACE)] = "monitoring"
    """Namespace of the rendered objects (where the operator's Prometheus, Alertmanager or
    vmalert looks for them)."""
    labels: KubernetesLabels = Field(default_factory=dict)
    """Labels on every rendered rule object: what the operator's rule selector matches
    (kube-prometheus-stack: `release: <its Helm release>`)."""


class PrometheusOperatorTarget(KubernetesTarget):
    """prometheus-operator (and kube-prometheus): one `PrometheusRule` per RuleGroup, read
    by a Prometheus of the `prometheus` target's version, and the Alertmanager configuration
    as the Secret the operator loads."""

    version: Annotated[str, Field(pattern=_VERSION)] = "0.75"
    """prometheus-operator version, quoted (`"0.75"`); it gates nothing yet: the rules'
    fields are gated by the `prometheus` target's version."""
    alertmanager: Literal["secret", "alertmanagerConfig", "none"] = "secret"
    """`secret`: the whole configuration as the Secret the Alertmanager CR reads (exact
    semantics); `alertmanagerConfig`: `AlertmanagerConfig` objects, to which the operator
    adds a namespace matcher on every route; `none`: no Alertmanager object."""
    alertmanager_secret: Annotated[str, Field(pattern=_OBJECT_NAME)] = "alertmanager-main"
    """Name of that Secret: `alertmanager-<name of the Alertmanager CR>` (kube-prometheus:
    `alertmanager-main`) or the CR's `configSecret`."""


class VictoriaMetricsOperatorTarget(KubernetesTarget):
    """The VictoriaMetrics operator: one `VMRule` per RuleGroup, with the vmalert-only
    fields of the `vmalert` target's files."""

    version: Annotated[str, Field(pattern=_VERSION)] = "0.47"
    """VictoriaMetrics operator version, quoted; it gates nothing yet: the rules' fields
    are gated by the `vmalert` target's version."""


class KedaTarget(TargetSpec):
    """KEDA: a `ScaledObject` for each WorkerPool that names a Kubernetes workload."""

    version: Annotated[str, Field(pattern=_VERSION)] = "2.14"
    """KEDA version the objects must be accepted by, quoted (`"2.14"`)."""
    prometheus_url: Annotated[str, Field(pattern=r"^https?://")] = Field(
        default="http://prometheus-operated.monitoring.svc:9090", alias="prometheusURL")
    """The Prometheus KEDA queries for the pools' metrics (its `serverAddress`)."""
    kubernetes_version: Annotated[str, Field(pattern=_VERSION)] = "1.30"
    """Kubernetes version of the cluster: the HorizontalPodAutoscaler fields it knows
    (a configurable tolerance needs 1.33)."""


class Targets(Spec):
    """The targets rendered for, with their versions (defaults: Debian 12's)."""

    prometheus: PrometheusTarget = PrometheusTarget()
    """Prometheus rule files."""
    vmalert: VMAlertTarget = VMAlertTarget()
    """vmalert rule files."""
    alertmanager: AlertmanagerTarget = AlertmanagerTarget()
    """The Alertmanager configuration."""
    prometheus_operator: PrometheusOperatorTarget | None = None
    """PrometheusRule objects and the Alertmanager Secret (off when unset)."""
    victoria_metrics_operator: VictoriaMetricsOperatorTarget | None = None
    """VMRule objects (off when unset)."""
    keda: KedaTarget | None = None
    """ScaledObjects for WorkerPools that name a Kubernetes workload (off when unset)."""


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
    was compiled, a sidecar has not synced for `staleAfter`, a daemon is down or keeps
    restarting, the notifier's outbox backs up or dead-letters, escalated alerts stay
    unacknowledged, the healer spends a restart budget or the scaler holds a pool.
    """

    enabled: bool = False
    """Render the meta-monitoring rule group."""
    group: ResourceName = "converge-meta"
    """Name of the generated rule group (and of its rule file)."""
    sidecar_job: Annotated[str, Field(min_length=1)] = "converge-sidecar"
    """The `job` label Prometheus gives the sidecars' `/metrics` targets."""
    server_job: Annotated[str, Field(min_length=1)] = "converge-server"
    """The `job` label Prometheus gives the config server's `/metrics` target."""
    notifier_job: Annotated[str, Field(min_length=1)] = "converge-notifier"
    """The `job` label Prometheus gives the notifier's `/metrics` target."""
    healer_job: Annotated[str, Field(min_length=1)] = "converge-healer"
    """The `job` label Prometheus gives the healer's `/metrics` target."""
    scaler_job: Annotated[str, Field(min_length=1)] = "converge-scaler"
    """The `job` label Prometheus gives the scaler's `/metrics` target."""
    backlog_age: Duration = "10m"
    """A notifier channel whose oldest waiting message is older than this is backlogged."""
    for_: Duration = Field(default="10m", alias="for")
    """How long a problem lasts before its alert fires."""
    stale_after: Duration = "1h"
    """A sidecar without a successful sync for this long is stale."""
    labels: Labels = Field(default_factory=dict)
    """Labels added to every meta-monitoring alert (for routing, e.g. `team`)."""


class Notifications(Spec):
    """Where daemon events go when nothing else sends them, and where failed messages go."""

    event_channels: list[str] = Field(default_factory=list)
    """Channels that receive every daemon event (healer, scaler, sidecar) that names no
    channel `converge notifier` can deliver to and that no channel's `events` route takes."""
    fallback_channel: str | None = None
    """A channel that receives, with the failure, each message another channel dead-letters."""
    alertmanager: bool = False
    """Send daemon events to Alertmanager as alerts (`ConvergeEvent`, through its v2 API,
    with the notifier's `--alertmanager-url`) instead of to channels: its silences,
    inhibition, grouping and routing then apply to them."""


class LintSettings(Spec):
    """What `converge check` reports: codes turned off, labels and annotations required."""

    disable: list[str] = Field(default_factory=list)
    """Codes never reported (`promql/regexp`, a family `promql/*`); listed as suppressed."""
    required_labels: dict[str, list[str]] = Field(default_factory=dict)
    """Labels every alert must have, each with its allowed values (`[]`: any value)."""
    required_annotations: list[str] = Field(default_factory=list)
    """Annotations every alert must have, such as `runbook_url` or `summary`."""


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
    lint: LintSettings = LintSettings()
    """Codes `converge check` does not report, and the labels and annotations alerts need."""
    notifications: Notifications = Notifications()
    """Default destinations of daemon events and the dead-letter fallback channel."""
