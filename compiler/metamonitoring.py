"""Alert rules for converge's own daemons (the `Project`'s `metaMonitoring` switch).

The rules read the metrics the sidecars and the config server export (`docs/sidecar.md`,
`docs/server.md`) and are compiled like any spec's rules, so every check runs on them and
any finding points at `metaMonitoring` in `converge.yaml`.
"""

from __future__ import annotations

from converge.compiler import model
from converge.specs.common import parse_duration
from converge.specs.project import MetaMonitoring

_SOURCE = "converge-meta-monitoring"
"""`source` label on every meta alert, to route or silence them together."""


def groups(settings: MetaMonitoring, project: model.Project) -> tuple[model.RuleGroup, ...]:
    """The meta-monitoring rule group, or nothing when the switch is off."""
    if not settings.enabled or project.origin is None:
        return ()
    origin = model.Origin(project.origin.document, ("spec", "metaMonitoring"))
    targets = tuple(t for t in ("prometheus",) if project.targets[t].enabled)
    rules = tuple(
        model.Rule(
            kind="alert", name=name, expr=expr, raw_expr=expr, for_=for_,
            keep_firing_for=None,
            labels={**project.default_labels, "severity": severity, "source": _SOURCE,
                    **settings.labels},
            annotations={"summary": summary, "description": description},
            targets=targets, vmalert={}, tier=None, origin=origin,
        )
        for name, expr, for_, severity, summary, description in (
            *_alerts(settings), *_daemon_alerts(settings))
    )
    return (model.RuleGroup(
        name=settings.group, interval=project.default_interval, limit=None,
        query_offset=None, labels=None, targets=targets, vmalert={}, rules=rules,
        tiered=(), origin=origin,
    ),)


def _alerts(settings: MetaMonitoring) -> list[tuple[str, str, str, str, str, str]]:
    """(name, expr, for, severity, summary, description) of every meta alert."""
    sidecar = f'job="{_escape(settings.sidecar_job)}"'
    server = f'job="{_escape(settings.server_job)}"'
    stale = int(parse_duration(settings.stale_after))
    wait = settings.for_
    return [
        ("ConvergeSidecarDown", f"up{{{sidecar}}} == 0", "5m", "critical",
         "converge sidecar {{ $labels.instance }} is down",
         "Prometheus cannot scrape the sidecar at {{ $labels.instance }}: its target "
         "gets no new configuration until it is back."),
        ("ConvergeServerDown", f"up{{{server}}} == 0", "5m", "critical",
         "converge config server {{ $labels.instance }} is down",
         "Prometheus cannot scrape the config server at {{ $labels.instance }}: no sidecar "
         "receives new bundles until it is back."),
        ("ConvergeSyncFailing",
         f'increase(converge_sidecar_syncs_total{{{sidecar}, result="failure"}}[15m]) > 0',
         wait, "warning",
         "converge sidecar {{ $labels.instance }} keeps failing to sync {{ $labels.target }}",
         "Syncs of {{ $labels.target }} have failed for a while; the target keeps its last "
         "good configuration. The sidecar's /status says why."),
        ("ConvergeTargetNotConverged", f"converge_sidecar_converged{{{sidecar}}} == 0",
         wait, "warning",
         "{{ $labels.target }} does not run the compiled configuration",
         "What {{ $labels.target }} loaded (sidecar {{ $labels.instance }}) differs from "
         "the bundle compiled from Git."),
        ("ConvergeConfigStale",
         f"time() - converge_sidecar_last_success_timestamp_seconds{{{sidecar}}} > {stale}",
         wait, "warning",
         "converge sidecar {{ $labels.instance }} has not synced {{ $labels.target }} "
         f"for over {settings.stale_after}",
         "The last successful sync of {{ $labels.target }} was "
         "{{ $value | humanizeDuration }} ago."),
        ("ConvergeCompileFailing",
         f'increase(converge_server_compiles_total{{{server}, result="failure"}}[15m]) > 0',
         wait, "warning",
         "converge config server {{ $labels.instance }} cannot compile the repository",
         "Commits on the served branch fail to compile; sidecars keep the last good bundle. "
         "GET /api/v1/config/sync on the server shows the diagnostics."),
    ]


def _daemon_alerts(settings: MetaMonitoring) -> list[tuple[str, str, str, str, str, str]]:
    """The notifier's, healer's and scaler's alerts, and restarts of every daemon."""
    jobs = {"sidecar": settings.sidecar_job, "server": settings.server_job,
            "notifier": settings.notifier_job, "healer": settings.healer_job,
            "scaler": settings.scaler_job}
    selector = {daemon: f'job="{_escape(job)}"' for daemon, job in jobs.items()}
    notifier, healer, scaler = selector["notifier"], selector["healer"], selector["scaler"]
    backlog = int(parse_duration(settings.backlog_age))
    wait = settings.for_
    restarts = " or ".join(f"changes(converge_{daemon}_start_time_seconds{{{selector[daemon]}}}"
                           f"[1h]) > 2" for daemon in jobs)
    down = [(f"Converge{daemon.capitalize()}Down", f"up{{{selector[daemon]}}} == 0", "5m",
             "critical", f"converge {daemon} {{{{ $labels.instance }}}} is down",
             f"Prometheus cannot scrape the {daemon} at {{{{ $labels.instance }}}}: {why}")
            for daemon, why in (
                ("notifier", "nothing Alertmanager routes to DingTalk, WeCom or Feishu, and "
                             "no daemon event or escalation, reaches anyone until it is back."),
                ("healer", "failed containers are not restarted until it is back."),
                ("scaler", "worker pools keep their size until it is back."))]
    return [*down,
        ("ConvergeDaemonRestarting", restarts, "1m", "warning",
         "converge daemon {{ $labels.job }} on {{ $labels.instance }} keeps restarting",
         "It started {{ $value }} times in the last hour (converge_<daemon>_start_time_"
         "seconds changed): a crash loop. Its logs say why."),
        ("ConvergeNotifierBacklog",
         f"max by (instance, channel) (converge_notifier_oldest_pending_age_seconds"
         f"{{{notifier}}}) > {backlog}", wait, "warning",
         "notifications to {{ $labels.channel }} are waiting for over "
         f"{settings.backlog_age}",
         "The oldest message for {{ $labels.channel }} has waited "
         "{{ $value | humanizeDuration }}: the vendor refuses, rate-limits or cannot be "
         "reached. The notifier's /status says why."),
        ("ConvergeNotifierDeadLetters",
         f"increase(converge_notifier_dead_lettered_total{{{notifier}}}[15m]) > 0", "1m",
         "warning", "notifications to {{ $labels.channel }} were dead-lettered",
         "Messages to {{ $labels.channel }} failed permanently; GET /api/v1/dead-letters "
         "on the notifier lists them and why, POST …/retry sends one again."),
        ("ConvergeEscalationsPending",
         f"converge_notifier_escalations_pending{{{notifier}}} > 0", "1h", "warning",
         "{{ $value }} escalated alerts nobody has acknowledged for an hour",
         "Firing alerts keep paging their escalation levels. Acknowledge them "
         "(POST /api/v1/alerts/<fingerprint>/ack on the notifier, or a silence)."),
        ("ConvergeHealerBudgetExhausted",
         f"increase(converge_healer_budget_exhausted_total{{{healer}}}[15m]) > 0", "1m",
         "critical", "the healer on {{ $labels.instance }} gave up restarting a container",
         "A container spent its restart budget and stays down; the healer's "
         "/api/v1/healer/history says which."),
        ("ConvergeScalerHolding",
         f'converge_scaler_pool_mode{{{scaler}, mode="hold"}} == 1', wait, "warning",
         "the scaler holds pool {{ $labels.pool }} at its size",
         "The scaling queries of pool {{ $labels.pool }} keep failing, so the scaler "
         "neither grows nor shrinks it. Its /status says which query fails."),
    ]


def _escape(value: str) -> str:
    """A label value inside a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
