"""Generate a realistic converge repository of N rules, and the same rules for promtool.

    python benchmarks/generate.py N OUTDIR [--promtool-dir DIR] [--seed S] [--force]
                                           [--shape clean|warnings|small]

`--shape` (see `SHAPES`): `clean`, the default, checks clean; `warnings` has the same
layout with 20 % of alerts reading a label their aggregation drops (one true
`template/unknown-label` warning each); `small` is real-world-like: files of 12 rules,
85 % alerts with long multi-line annotations, 25 % of alerts warned. The manifest records
`expected_warnings`, which the benchmarks check every run against.

OUTDIR receives a converge repository:

    converge.yaml               the Project
    alerting/routing.yaml       one Routing (root receiver, a critical sub-route, an inhibit rule)
    alerting/channels.yaml      one Channel (webhook to http://127.0.0.1:9095/hook)
    rules/<team>-NNNN.yaml      10 RuleGroup documents (groups of 20 rules) per file: 200 rules

DIR (default `OUTDIR-promtool`) receives the same rules as plain Prometheus rule files
(`groups: [{name, interval, rules}]`, snake_case keys), one file per converge rule file,
with every tiered alert expanded into one alert per tier (a `severity` label, the tier's
value in place of `$threshold`), as converge expands them. `promtool check rules
DIR/rules/*.yaml` then checks exactly what `converge check OUTDIR` checks.

The rules: 60 % alerting, 40 % recording; expressions built from rate, sums by labels,
histogram_quantile, ratios, predict_linear, offsets and label matchers; every alert has
`for`, labels and annotations whose Go templates only use labels its expression keeps
(summaries are the same text in every service, descriptions start with their service's
name, so about half of the templates are distinct texts; most actions are `$labels.x` or
`$value | humanize…`, some use `printf` and `if`);
about one alert in ten is tiered (`thresholds: {warning: X, critical: Y}`). Every rule
carries a `service` label, so rules of the same name in one file have different label
sets (promtool lints identical name + labels). The output is deterministic for a given
seed, and the complete groups of a smaller N are the first groups of a larger one.

Standard library only; YAML is written as text (strings as JSON double-quoted scalars,
multi-line expressions as `|-` block scalars).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

RULES_PER_GROUP = 20
GROUPS_PER_FILE = 10
ALERT_SHARE = 0.6
TIER_SHARE = 0.1
DEFAULT_SEED = 20240601
MANIFEST = ".bench-manifest.json"
"""Written into OUTDIR: what was generated, and the generator's hash (for caching)."""

CHANNEL_URL = "http://127.0.0.1:9095/hook"
DEFAULT_INTERVAL = "1m"

TEAMS = ("payments", "checkout", "identity", "search", "catalog", "platform", "data",
         "messaging", "storage", "edge", "billing", "growth")
COMPONENTS = ("api", "worker", "gateway", "scheduler", "frontend", "ingest", "indexer",
              "cache", "db-proxy", "notifier", "exporter", "consumer")


# --- rule templates ------------------------------------------------------------------------
# Tokens replaced per group: @JOB@ (the service's job label), @NS@ (its namespace), @W@ (the
# group's rate window), @T@ (the threshold: a number, or `$threshold` in a tiered alert).


@dataclasses.dataclass(frozen=True)
class AlertTemplate:
    name: str
    expr: str
    summary: str
    description: str
    severity: str
    """Severity of the untiered alert; its threshold is that tier's value."""
    thresholds: tuple[tuple[float, float], ...]
    """(warning, critical) pairs to pick from; empty: the alert is never tiered."""
    fors: tuple[str, ...] = ("5m",)


@dataclasses.dataclass(frozen=True)
class RecordTemplate:
    name: str
    expr: str


ALERTS: tuple[AlertTemplate, ...] = (
    AlertTemplate(
        "HighErrorRate",
        'sum by (job, route) (rate(http_requests_total{job="@JOB@", code=~"5.."}[@W@]))\n'
        '  / sum by (job, route) (rate(http_requests_total{job="@JOB@"}[@W@])) > @T@',
        "High 5xx ratio on {{ $labels.job }} route {{ $labels.route }}",
        "{{ $value | humanizePercentage }} of requests to {{ $labels.route }} failed "
        "over the last @W@.",
        "critical", ((0.02, 0.05), (0.01, 0.05), (0.05, 0.1)), ("5m", "10m")),
    AlertTemplate(
        "HighLatencyP99",
        "histogram_quantile(0.99,\n"
        '  sum by (le, job, route) (rate(http_request_duration_seconds_bucket{job="@JOB@"}'
        "[@W@]))\n) > @T@",
        "p99 latency of {{ $labels.job }} {{ $labels.route }} is high",
        "99th percentile latency of {{ $labels.route }} is "
        "{{ $value | humanizeDuration }}.",
        "warning", ((0.5, 1), (1, 2.5), (0.25, 0.75)), ("10m", "15m")),
    AlertTemplate(
        "InstanceDown",
        'up{job="@JOB@"} == 0',
        "{{ $labels.instance }} of {{ $labels.job }} is down",
        "{{ $labels.instance }} has not answered scrapes of job {{ $labels.job }} for "
        "5 minutes.",
        "critical", (), ("5m", "3m")),
    AlertTemplate(
        "HighCPUUsage",
        'sum by (job, instance) (rate(process_cpu_seconds_total{job="@JOB@"}[@W@])) > @T@',
        "{{ $labels.instance }} uses a lot of CPU",
        "{{ $labels.instance }} of {{ $labels.job }} uses {{ printf \"%.2f\" $value }} cores.",
        "warning", ((0.8, 0.95), (1.5, 3), (3, 6)), ("15m", "30m")),
    AlertTemplate(
        "ContainerMemoryNearLimit",
        "sum by (namespace, pod, container) (container_memory_working_set_bytes"
        '{namespace="@NS@", container="@JOB@"})\n'
        "  / sum by (namespace, pod, container) (kube_pod_container_resource_limits"
        '{namespace="@NS@", container="@JOB@", resource="memory"}) > @T@',
        "{{ $labels.pod }} is close to its memory limit",
        "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} "
        "uses {{ $value | humanizePercentage }} of its memory limit.",
        "warning", ((0.85, 0.95), (0.8, 0.9)), ("15m",)),
    AlertTemplate(
        "PodCrashLooping",
        "increase(kube_pod_container_status_restarts_total"
        '{namespace="@NS@", container="@JOB@"}[15m]) > @T@',
        "{{ $labels.pod }} is crash looping",
        "{{ $labels.namespace }}/{{ $labels.pod }} restarted {{ $value | humanize }} times "
        "in 15 minutes.",
        "warning", (), ("1m", "5m")),
    AlertTemplate(
        "DiskWillFillIn4Hours",
        'predict_linear(node_filesystem_avail_bytes{job="@JOB@", fstype!~"tmpfs|overlay"}'
        "[6h], 4 * 3600) < 0",
        "{{ $labels.mountpoint }} on {{ $labels.instance }} fills up soon",
        "At the current rate {{ $labels.mountpoint }} on {{ $labels.instance }} is full "
        "within 4 hours.",
        "warning", (), ("1h", "30m")),
    AlertTemplate(
        "DiskSpaceLow",
        'node_filesystem_avail_bytes{job="@JOB@", fstype!~"tmpfs|overlay"}\n'
        '  / node_filesystem_size_bytes{job="@JOB@", fstype!~"tmpfs|overlay"} * 100 < @T@',
        "Little free space on {{ $labels.instance }}",
        "{{ $labels.mountpoint }} on {{ $labels.instance }} has "
        '{{ printf "%.1f" $value }}% free.',
        "critical", ((15, 5), (20, 10), (10, 3)), ("10m", "5m")),
    AlertTemplate(
        "QueueBacklogHigh",
        'sum by (job, queue) (queue_depth{job="@JOB@"}) > @T@',
        "Queue {{ $labels.queue }} of {{ $labels.job }} is backing up",
        "{{ $value | humanize }} messages wait in {{ $labels.queue }}.",
        "warning", ((1000, 5000), (500, 2000), (10000, 50000)), ("10m", "15m")),
    AlertTemplate(
        "ErrorBudgetBurnFast",
        "(\n"
        '  sum by (job) (rate(http_requests_total{job="@JOB@", code=~"5.."}[1h]))\n'
        '    / sum by (job) (rate(http_requests_total{job="@JOB@"}[1h]))\n'
        ") > (14.4 * 0.001)\nand\n(\n"
        '  sum by (job) (rate(http_requests_total{job="@JOB@", code=~"5.."}[5m]))\n'
        '    / sum by (job) (rate(http_requests_total{job="@JOB@"}[5m]))\n'
        ") > (14.4 * 0.001)",
        "{{ $labels.job }} burns its error budget fast",
        "{{ $labels.job }} spends its 30-day error budget 14 times too fast; at this rate "
        "it is gone in 2 days.",
        "critical", (), ("2m",)),
    AlertTemplate(
        "ScrapeSlow",
        'max by (job, instance) (scrape_duration_seconds{job="@JOB@"}) > @T@',
        "Scraping {{ $labels.instance }} is slow",
        "A scrape of {{ $labels.instance }} took {{ $value | humanizeDuration }}.",
        "warning", (), ("15m",)),
    AlertTemplate(
        "FileDescriptorsExhausted",
        'process_open_fds{job="@JOB@"} / process_max_fds{job="@JOB@"} > @T@',
        "{{ $labels.instance }} runs out of file descriptors",
        "{{ $labels.instance }} uses {{ $value | humanizePercentage }} of its file "
        "descriptors.",
        "warning", ((0.8, 0.95), (0.7, 0.9)), ("10m",)),
    AlertTemplate(
        "CertificateExpiringSoon",
        '(probe_ssl_earliest_cert_expiry{job="@JOB@"} - time()) / 86400 < @T@',
        "The certificate of {{ $labels.instance }} expires soon",
        "The certificate served by {{ $labels.instance }} expires in "
        "{{ $value | humanize }} days.",
        "warning", ((21, 7), (14, 3), (30, 7)), ("1h",)),
    AlertTemplate(
        "GoroutinesHigh",
        'sum by (job, instance) (go_goroutines{job="@JOB@"}) > @T@',
        "{{ $labels.instance }} runs many goroutines",
        "{{ $labels.instance }} runs {{ $value | humanize }} goroutines; a leak?",
        "warning", ((5000, 20000), (10000, 50000)), ("30m",)),
    AlertTemplate(
        "GCPauseHigh",
        'sum by (job, instance) (rate(go_gc_duration_seconds_sum{job="@JOB@"}[@W@]))\n'
        '  / sum by (job, instance) (rate(go_gc_duration_seconds_count{job="@JOB@"}[@W@]))'
        " > @T@",
        "Long GC pauses on {{ $labels.instance }}",
        "GC pauses on {{ $labels.instance }} average {{ $value | humanizeDuration }}.",
        "warning", (), ("15m",)),
    AlertTemplate(
        "KafkaConsumerLagHigh",
        "sum by (job, consumergroup, topic) "
        '(kafka_consumergroup_lag{job="@JOB@"}) > @T@',
        "Consumer group {{ $labels.consumergroup }} lags on {{ $labels.topic }}",
        "{{ $labels.consumergroup }} is {{ $value | printf \"%.0f\" }} messages behind "
        "on {{ $labels.topic }}.",
        "warning", ((10000, 100000), (1000, 10000)), ("10m", "15m")),
    AlertTemplate(
        "DBConnectionPoolSaturated",
        'sum by (job, instance, pool) (db_pool_connections_in_use{job="@JOB@"})\n'
        '  / sum by (job, instance, pool) (db_pool_connections_max{job="@JOB@"}) > @T@',
        "Connection pool {{ $labels.pool }} of {{ $labels.instance }} is nearly full",
        "{{ $labels.pool }} on {{ $labels.instance }} uses {{ $value | humanizePercentage }}"
        " of its connections.",
        "critical", ((0.8, 0.95), (0.75, 0.9)), ("5m",)),
    AlertTemplate(
        "TrafficDrop",
        'sum by (job) (rate(http_requests_total{job="@JOB@"}[@W@]))\n'
        '  < 0.5 * sum by (job) (rate(http_requests_total{job="@JOB@"}[@W@] offset 1w))',
        "Traffic of {{ $labels.job }} dropped",
        "{{ $labels.job }} serves less than half of last week's traffic "
        "({{ $value | humanize }} requests/s).",
        "warning", (), ("30m",)),
    AlertTemplate(
        "CronJobNotSucceeded",
        'time() - max by (job, task) (cron_last_success_timestamp_seconds{job="@JOB@"})'
        " > @T@",
        "Task {{ $labels.task }} of {{ $labels.job }} has not succeeded lately",
        "{{ $labels.task }} last succeeded {{ $value | humanizeDuration }} ago"
        "{{ if gt $value 172800.0 }}: more than two days{{ end }}.",
        "warning", (), ("10m",)),
    AlertTemplate(
        "ErrorLogsSpike",
        "sum by (job, level) (rate(log_messages_total"
        '{job="@JOB@", level=~"error|fatal"}[@W@])) > @T@',
        "{{ $labels.job }} logs many {{ $labels.level }} messages",
        "{{ $labels.job }} logs {{ $value | humanize }} {{ $labels.level }} messages per "
        "second.",
        "warning", (), ("10m",)),
    AlertTemplate(
        "DeploymentReplicasMismatch",
        'kube_deployment_spec_replicas{namespace="@NS@", deployment="@JOB@"}\n'
        '  != kube_deployment_status_replicas_available{namespace="@NS@", '
        'deployment="@JOB@"}',
        "{{ $labels.deployment }} lacks replicas",
        "{{ $labels.namespace }}/{{ $labels.deployment }} wants {{ $value }} replicas but "
        "not all are available.",
        "warning", (), ("15m",)),
)

UNTIERED_VALUES: dict[str, tuple[float, ...]] = {
    "PodCrashLooping": (3, 5),
    "ScrapeSlow": (10, 20),
    "GCPauseHigh": (0.05, 0.1),
    "CronJobNotSucceeded": (93600, 7200),
    "ErrorLogsSpike": (5, 1, 20),
}
"""Thresholds of untierable alerts with a @T@ in their expression."""

RECORDS: tuple[RecordTemplate, ...] = (
    RecordTemplate("job_route:http_requests:rate@W@",
                   'sum by (job, route) (rate(http_requests_total{job="@JOB@"}[@W@]))'),
    RecordTemplate("job_route:http_errors:rate@W@",
                   "sum by (job, route) "
                   '(rate(http_requests_total{job="@JOB@", code=~"5.."}[@W@]))'),
    RecordTemplate("job_route:http_error_ratio:rate@W@",
                   "sum by (job, route) "
                   '(rate(http_requests_total{job="@JOB@", code=~"5.."}[@W@]))\n'
                   '  / sum by (job, route) (rate(http_requests_total{job="@JOB@"}[@W@]))'),
    RecordTemplate("job_route:http_request_duration_seconds:p99_@W@",
                   "histogram_quantile(0.99, sum by (le, job, route) "
                   '(rate(http_request_duration_seconds_bucket{job="@JOB@"}[@W@])))'),
    RecordTemplate("job_route:http_request_duration_seconds:p50_@W@",
                   "histogram_quantile(0.5, sum by (le, job, route) "
                   '(rate(http_request_duration_seconds_bucket{job="@JOB@"}[@W@])))'),
    RecordTemplate("job_instance:process_cpu_seconds:rate@W@",
                   "sum by (job, instance) "
                   '(rate(process_cpu_seconds_total{job="@JOB@"}[@W@]))'),
    RecordTemplate("job:process_resident_memory_bytes:max",
                   'max by (job) (process_resident_memory_bytes{job="@JOB@"})'),
    RecordTemplate("job:up:avg", 'avg by (job) (up{job="@JOB@"})'),
    RecordTemplate("job:http_requests:rate1h",
                   'sum by (job) (rate(http_requests_total{job="@JOB@"}[1h]))'),
    RecordTemplate("job_instance:go_goroutines:sum",
                   'sum by (job, instance) (go_goroutines{job="@JOB@"})'),
    RecordTemplate("job_queue:queue_depth:max_over_time10m",
                   'max by (job, queue) (max_over_time(queue_depth{job="@JOB@"}[10m]))'),
    RecordTemplate("job:slo_availability:ratio_rate30d",
                   "1 - (\n"
                   '  sum by (job) (increase(http_requests_total{job="@JOB@", code=~"5.."}'
                   "[30d]))\n"
                   '    / sum by (job) (increase(http_requests_total{job="@JOB@"}[30d]))\n)'),
    RecordTemplate("namespace_pod:container_memory_working_set_bytes:sum",
                   "sum by (namespace, pod) (container_memory_working_set_bytes"
                   '{namespace="@NS@", container="@JOB@"})'),
    RecordTemplate("job_topic:kafka_consumergroup_lag:sum",
                   'sum by (job, topic) (kafka_consumergroup_lag{job="@JOB@"})'),
)

SEVERITIES = ("warning", "critical")

WARNED_LABEL = "zone"
"""The label a warned alert's description reads: no template's expression keeps it."""

AGGREGATED = frozenset(t.name for t in ALERTS if " by (" in t.expr)
"""Alerts whose expression keeps only its `by (…)` labels: reading WARNED_LABEL in their
annotations is a true `template/unknown-label` warning (the others keep every label)."""


# --- shapes --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shape:
    """How a generated repository is laid out and how dirty it is."""

    name: str
    rules_per_group: int = RULES_PER_GROUP
    groups_per_file: int = GROUPS_PER_FILE
    alert_share: float = ALERT_SHARE
    warned_share: float = 0.0
    """Share of alerts whose description reads WARNED_LABEL, which their aggregation drops:
    one `template/unknown-label` warning each."""
    long_annotations: bool = False
    """Multi-line descriptions of several sentences and actions (`with`, `if`, links), as
    hand-written alerts carry, instead of one line."""


SHAPES = {
    "clean": Shape("clean"),
    "warnings": Shape("warnings", warned_share=0.2),
    "small": Shape("small", rules_per_group=6, groups_per_file=2, alert_share=0.85,
                   warned_share=0.25, long_annotations=True),
}
"""`clean`: the default, 0 diagnostics. `warnings`: the same layout, 20 % of alerts
warned. `small`: a real-world-like repository: small files (12 rules), mostly alerts with
long multi-line annotations, 25 % warned (about 1,000 alerts in 100 files at 1,200 rules)."""


# --- the generated model -------------------------------------------------------------------


@dataclasses.dataclass
class Rule:
    alert: str | None
    record: str | None
    expr: str
    for_: str | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    thresholds: dict[str, float] | None = None


@dataclasses.dataclass
class Group:
    name: str
    team: str
    interval: str | None
    """As written in the spec (None: the project's default)."""
    rules: list[Rule]


@dataclasses.dataclass
class _Counters:
    alerts: int = 0
    records: int = 0
    tiered: int = 0
    tier_debt: float = 0.0
    warned: int = 0
    warn_debt: float = 0.0


def format_number(value: float) -> str:
    """A threshold as PromQL/YAML text, exactly as converge substitutes it: `80`, `0.05`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _fill(text: str, tokens: dict[str, str]) -> str:
    for token, value in tokens.items():
        text = text.replace(token, value)
    return text


def generate(n: int, seed: int = DEFAULT_SEED,
             shape: Shape = SHAPES["clean"]) -> list[list[Group]]:
    """N rules as files (lists) of groups of `shape.rules_per_group` rules (20); the last
    group may be smaller."""
    return _generate(n, seed, shape)[0]


def _generate(n: int, seed: int, shape: Shape) -> tuple[list[list[Group]], _Counters]:
    rng = random.Random(seed)
    counters = _Counters()
    files: list[list[Group]] = []
    remaining = n
    group_index = 0
    while remaining > 0:
        file_index = len(files)
        team = TEAMS[file_index % len(TEAMS)]
        groups: list[Group] = []
        while remaining > 0 and len(groups) < shape.groups_per_file:
            size = min(shape.rules_per_group, remaining)
            groups.append(_group(rng, group_index, team, size, counters, shape))
            remaining -= size
            group_index += 1
        files.append(groups)
    return files, counters


def _group(rng: random.Random, index: int, team: str, size: int,
           counters: _Counters, shape: Shape) -> Group:
    component = COMPONENTS[rng.randrange(len(COMPONENTS))]
    job = f"{team}-{component}-{index:05d}"
    tokens = {"@JOB@": job, "@NS@": team, "@W@": rng.choice(("5m", "5m", "5m", "1m", "10m"))}
    interval = rng.choice((None, None, None, "30s", "2m"))
    n_alerts = round(size * shape.alert_share)
    n_records = size - n_alerts
    common = {"team": team, "service": job}
    rules: list[Rule] = []
    for template in rng.sample(RECORDS, n_records):
        rules.append(Rule(alert=None, record=_fill(template.name, tokens),
                          expr=_fill(template.expr, tokens), labels=dict(common)))
        counters.records += 1
    for template in rng.sample(ALERTS, n_alerts):
        rules.append(_alert(rng, template, tokens, common, team, counters, shape))
    return Group(name=job, team=team, interval=interval, rules=rules)


def _long_description(template: AlertTemplate, tokens: dict[str, str], team: str) -> str:
    """A hand-written-looking description: several lines, links, an `if` and a `with`."""
    job = tokens["@JOB@"]
    return "\n".join((
        f"[{job}] " + _fill(template.description, tokens),
        "",
        f"Owner: team {team}. Current value: {{{{ $value | humanize }}}}"
        "{{ if gt $value 0.0 }} (above zero){{ end }}.",
        "{{ with $externalLabels.cluster }}Cluster: {{ . }}.{{ end }} Check the dashboard "
        "first, then the recent deploys and the logs of the affected pods.",
        f"Dashboard: https://grafana.example.com/d/{team}/{template.name.lower()}"
        f"?var-job={job}",
        f"Logs: https://logs.example.com/search?q=job%3D%22{job}%22",
        "If this fires during a deploy, wait one evaluation interval before paging; "
        "otherwise follow the runbook.",
    ))


def _alert(rng: random.Random, template: AlertTemplate, tokens: dict[str, str],
           common: dict[str, str], team: str, counters: _Counters, shape: Shape) -> Rule:
    counters.alerts += 1
    counters.tier_debt += TIER_SHARE
    tiered = bool(template.thresholds) and counters.tier_debt >= 1.0
    description = (_long_description(template, tokens, team) if shape.long_annotations
                   else f"[{tokens['@JOB@']}] " + _fill(template.description, tokens))
    counters.warn_debt += shape.warned_share
    if counters.warn_debt >= 1.0 and template.name in AGGREGATED:
        # a true warning: the aggregation keeps only its `by (…)` labels
        counters.warn_debt -= 1.0
        counters.warned += 1
        description += f" Zone: {{{{ $labels.{WARNED_LABEL} }}}}."
    annotations = {
        "summary": _fill(template.summary, tokens),
        # summaries are shared by every service (written once, copied); descriptions name
        # their service, so about half the templates in a repository are distinct texts
        "description": description,
        "runbook_url": f"https://runbooks.example.com/{team}/{template.name.lower()}",
    }
    labels = dict(common)
    thresholds = None
    if tiered:
        counters.tier_debt -= 1.0
        counters.tiered += 1
        warning, critical = rng.choice(template.thresholds)
        thresholds = {"warning": warning, "critical": critical}
        expr = _fill(template.expr, {**tokens, "@T@": "$threshold"})
        annotations["description"] += " (threshold: $threshold)"
    else:
        labels = {"severity": template.severity, **labels}
        if template.thresholds:
            warning, critical = rng.choice(template.thresholds)
            value = warning if template.severity == "warning" else critical
        else:
            value = rng.choice(UNTIERED_VALUES.get(template.name, (0,)))
        expr = _fill(template.expr, {**tokens, "@T@": format_number(value)})
    return Rule(alert=template.name, record=None, expr=expr,
                for_=rng.choice(template.fors), labels=labels, annotations=annotations,
                thresholds=thresholds)


def expand_tiers(rule: Rule) -> list[Rule]:
    """The plain Prometheus rules of one rule: one alert per tier, lowest severity first."""
    if rule.thresholds is None:
        return [rule]
    expanded = []
    for severity in SEVERITIES:
        if severity not in rule.thresholds:
            continue
        text = format_number(rule.thresholds[severity])
        expanded.append(Rule(
            alert=rule.alert, record=None, expr=rule.expr.replace("$threshold", text),
            for_=rule.for_, labels={**rule.labels, "severity": severity},
            annotations={k: v.replace("$threshold", text) for k, v in rule.annotations.items()},
        ))
    return expanded


# --- YAML text -----------------------------------------------------------------------------


_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_NUMBER_LIKE = re.compile(r"^[0-9._:eE+-]*$")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})


def q(value: str) -> str:
    """A one-line YAML scalar for a string: plain when unambiguous, else JSON-quoted."""
    if (_PLAIN.match(value) and not value.endswith(":") and not _NUMBER_LIKE.match(value)
            and value.lower() not in _YAML11_WORDS):
        return value
    return json.dumps(value)


def scalar(value: str, indent: int) -> str:
    """A YAML scalar for a string: `|-` block for multi-line text, else JSON double-quoted.

    `indent` is the indentation of the key the scalar belongs to.
    """
    if "\n" in value and all(line == line.rstrip() for line in value.split("\n")) and (
            not value.startswith((" ", "\t")) and "\t" not in value and "\r" not in value):
        pad = " " * (indent + 2)
        return "|-\n" + "\n".join(pad + line if line else "" for line in value.split("\n"))
    return q(value)


def _mapping(key: str, values: dict[str, str], indent: int) -> Iterator[str]:
    if not values:
        return
    pad = " " * indent
    yield f"{pad}{key}:"
    for name, value in values.items():
        yield f"{pad}  {name}: {q(value)}"


def _rule_lines(rule: Rule, *, indent: int, converge: bool) -> Iterator[str]:
    """One rule as a list item whose dash is at column `indent`."""
    head = " " * indent + "- "
    pad = " " * (indent + 2)
    if rule.alert is not None:
        yield f"{head}alert: {q(rule.alert)}"
    else:
        yield f"{head}record: {q(rule.record or '')}"
    yield f"{pad}expr: {scalar(rule.expr, len(pad))}"
    if rule.for_ is not None:
        yield f"{pad}for: {q(rule.for_)}"
    yield from _mapping("labels", rule.labels, len(pad))
    yield from _mapping("annotations", rule.annotations, len(pad))
    if converge and rule.thresholds is not None:
        yield f"{pad}thresholds:"
        for severity, value in rule.thresholds.items():
            yield f"{pad}  {severity}: {format_number(value)}"


def converge_rule_file(groups: list[Group]) -> str:
    documents = []
    for group in groups:
        lines = [
            "apiVersion: converge/v1",
            "kind: RuleGroup",
            "metadata:",
            f"  name: {q(group.name)}",
            "  labels:",
            f"    team: {q(group.team)}",
            "spec:",
        ]
        if group.interval is not None:
            lines.append(f"  interval: {q(group.interval)}")
        lines.append("  rules:")
        for rule in group.rules:
            lines.extend(_rule_lines(rule, indent=4, converge=True))
        documents.append("\n".join(lines) + "\n")
    return "---\n".join(documents)


def promtool_rule_file(groups: list[Group]) -> str:
    lines = ["groups:"]
    for group in groups:
        lines.append(f"  - name: {q(group.name)}")
        lines.append(f"    interval: {q(group.interval or DEFAULT_INTERVAL)}")
        lines.append("    rules:")
        for rule in group.rules:
            for plain in expand_tiers(rule):
                lines.extend(_rule_lines(plain, indent=6, converge=False))
    return "\n".join(lines) + "\n"


PROJECT = f"""\
apiVersion: converge/v1
kind: Project
metadata:
  name: bench
spec:
  externalLabels:
    cluster: "bench"
  defaults:
    interval: {json.dumps(DEFAULT_INTERVAL)}
"""

ROUTING = """\
apiVersion: converge/v1
kind: Routing
metadata:
  name: main
spec:
  route:
    receiver: "ops-webhook"
    groupBy: ["alertname", "service"]
    groupWait: "30s"
    groupInterval: "5m"
    repeatInterval: "4h"
    routes:
      - matchers: ["severity=\\"critical\\""]
        receiver: "ops-webhook"
        repeatInterval: "1h"
  inhibitRules:
    - sourceMatchers: ["alertname=\\"InstanceDown\\""]
      targetMatchers: ["severity=\\"warning\\""]
      equal: ["service"]
"""

CHANNELS = f"""\
apiVersion: converge/v1
kind: Channel
metadata:
  name: ops-webhook
spec:
  type: webhook
  url: {json.dumps(CHANNEL_URL)}
"""


def generator_hash() -> str:
    """Hash of this file: a cached repository is reused only if made by the same code."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _prepare(directory: Path, force: bool) -> None:
    if directory.exists() and any(directory.iterdir()):
        if not force:
            raise SystemExit(f"generate.py: {directory} is not empty (use --force)")
        if not (directory / MANIFEST).exists():
            raise SystemExit(f"generate.py: refusing to delete {directory}: it has no "
                             f"{MANIFEST}, so this script did not make it")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def write(n: int, outdir: Path, promtool_dir: Path | None = None, *,
          seed: int = DEFAULT_SEED, force: bool = False,
          shape: Shape = SHAPES["clean"]) -> dict[str, object]:
    """Write both repositories; return the manifest (also written to OUTDIR/MANIFEST)."""
    if n < 1:
        raise SystemExit("generate.py: N must be at least 1")
    promtool_dir = promtool_dir or outdir.with_name(outdir.name + "-promtool")
    _prepare(outdir, force)
    _prepare(promtool_dir, force)
    files, counters = _generate(n, seed, shape)
    (outdir / "rules").mkdir()
    (outdir / "alerting").mkdir()
    (promtool_dir / "rules").mkdir()
    (outdir / "converge.yaml").write_text(PROJECT, encoding="utf-8")
    (outdir / "alerting" / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    (outdir / "alerting" / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    converge_bytes = promtool_bytes = 0
    promtool_rules = tiered = 0
    rule_files = []
    for index, groups in enumerate(files):
        name = f"{groups[0].team}-{index + 1:04d}.yaml"
        text = converge_rule_file(groups)
        plain = promtool_rule_file(groups)
        (outdir / "rules" / name).write_text(text, encoding="utf-8")
        (promtool_dir / "rules" / name).write_text(plain, encoding="utf-8")
        converge_bytes += len(text.encode())
        promtool_bytes += len(plain.encode())
        rule_files.append(f"rules/{name}")
        for group in groups:
            for rule in group.rules:
                promtool_rules += len(expand_tiers(rule))
                tiered += rule.thresholds is not None
    all_rules = [r for groups in files for g in groups for r in g.rules]
    manifest: dict[str, object] = {
        "rules": n,
        "shape": shape.name,
        "expected_warnings": counters.warned,
        "alerts": sum(r.alert is not None for r in all_rules),
        "records": sum(r.record is not None for r in all_rules),
        "tiered_alerts": tiered,
        "groups": sum(len(g) for g in files),
        "rule_files": len(files),
        "promtool_rules": promtool_rules,
        "converge_rule_bytes": converge_bytes,
        "promtool_rule_bytes": promtool_bytes,
        "seed": seed,
        "generator": generator_hash(),
        "promtool_dir": str(promtool_dir),
        "promtool_files": rule_files,
    }
    for directory in (outdir, promtool_dir):
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n",
                                          encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="number of rules")
    parser.add_argument("outdir", type=Path, help="where to write the converge repository")
    parser.add_argument("--promtool-dir", type=Path, default=None,
                        help="where to write the plain Prometheus rule files "
                             "(default: OUTDIR-promtool)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="clean",
                        help="clean (default, 0 diagnostics), warnings (20 %% of alerts "
                             "warned) or small (real-world-like: small files, long "
                             "annotations, 25 %% warned)")
    parser.add_argument("--force", action="store_true",
                        help="replace OUTDIR and the promtool directory if this script "
                             "made them")
    args = parser.parse_args(argv)
    manifest = write(args.n, args.outdir, args.promtool_dir, seed=args.seed, force=args.force,
                     shape=SHAPES[args.shape])
    summary = {k: v for k, v in manifest.items() if k != "promtool_files"}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
