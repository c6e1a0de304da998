"""The demo's own copy of `repo-example/`: a Git repository with a demo rule, a demo channel
pointing at the local sink, and every secret reference made resolvable on this machine.

The text transforms are pure functions of the file contents (tested without I/O); `create`
and `commit` are the thin shell that writes the copy and commits it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import git

DEMO_ALERT = "DemoQueueBacklog"
"""The alert the demo makes fire."""

DEMO_CHANNEL = "demo-sink"
"""The DingTalk-type channel whose base URL is the demo's sink."""

DEMO_TOKEN_ENV = "CONVERGE_DEMO_SINK_TOKEN"
"""The environment variable holding the demo channel's access token."""

DEMO_POOL = "demo-workers"
"""The WorkerPool the scaler grows with the queue."""

DEMO_IMAGE = "localhost/converge-demo-busybox:latest"
"""The image of the demo's containers, imported from the host's busybox (no registry)."""

ESCALATION_AFTER = (10, 20)
"""Seconds after which the demo route's two escalation levels page (the demo sink)."""

CRASHLOOP_LABEL = ("converge.demo/role", "crashloop")
"""The label the demo HealingPolicy selects."""

_SECRET_ENV = re.compile(r"^[ \t]*env:[ \t]*([A-Z_][A-Z0-9_]*)[ \t]*$", re.MULTILINE)
_SECRET_FILE = re.compile(r"^([ \t]*file:[ \t]*)(/etc/converge/secrets/)(\S+)[ \t]*$", re.MULTILINE)
_NOTIFIER_URL = re.compile(r"^([ \t]*notifierURL:[ \t]*)\S+[ \t]*$", re.MULTILINE)


def rules_yaml(threshold: int, *, broken: bool = False) -> str:
    """The demo's RuleGroup: one alert on the exporter's queue length, evaluated every second.

    Args:
        threshold: the critical tier's value (`$threshold`).
        broken: render an expression with an unclosed parenthesis (the refused commit).
    """
    expr = "sum(demo_queue_length) > $threshold"
    if broken:
        expr = "sum(rate(demo_queue_length[1m]) > $threshold"
    return (
        "# Written by `converge demo`: an alert on the demo exporter's queue length.\n"
        "apiVersion: converge/v1\n"
        "kind: RuleGroup\n"
        "metadata:\n"
        "  name: demo\n"
        "spec:\n"
        "  interval: 1s\n"
        "  rules:\n"
        f"    - alert: {DEMO_ALERT}\n"
        f"      expr: '{expr}'\n"
        "      labels:\n"
        "        component: demo\n"
        "      annotations:\n"
        "        summary: \"{{ $value }} jobs are queued (threshold $threshold)\"\n"
        "        description: The demo exporter's queue is longer than $threshold.\n"
        "      thresholds:\n"
        f"        critical: {threshold}\n"
    )


def channel_yaml(sink_url: str) -> str:
    """The demo channel: DingTalk's API shape, delivered by the notifier to `sink_url`."""
    return (
        "# Written by `converge demo`: DingTalk-shaped messages to the demo's local sink.\n"
        "apiVersion: converge/v1\n"
        "kind: Channel\n"
        "metadata:\n"
        f"  name: {DEMO_CHANNEL}\n"
        "spec:\n"
        "  type: dingtalk\n"
        "  accessToken:\n"
        f"    env: {DEMO_TOKEN_ENV}\n"
        f"  baseUrl: {sink_url}\n"
        "  template:\n"
        "    title: \"[{{ status | upper }}] "
        "{{ event.title if kind == 'event' else commonLabels.alertname }}\"\n"
        "    body: |\n"
        "      {% if kind == 'event' %}\n"
        "      ### {{ event.source }} · {{ event.level }}\n"
        "      {{ event.text }}\n"
        "      {% else %}\n"
        "      ### {{ commonLabels.alertname }} · {{ commonLabels.severity }}\n"
        "      {% for alert in alerts %}\n"
        "      - **{{ alert.annotations.summary }}**\n"
        "      {% endfor %}\n"
        "      {% endif %}\n"
    )


def pool_yaml() -> str:
    """The demo WorkerPool: one replica per 30 queued jobs, 1 to 4, re-evaluated every second."""
    return (
        "# Written by `converge demo`: a pool sized from the demo exporter's queue.\n"
        "apiVersion: converge/v1\n"
        "kind: WorkerPool\n"
        "metadata:\n"
        f"  name: {DEMO_POOL}\n"
        "spec:\n"
        f"  image: {DEMO_IMAGE}\n"
        "  command: [sleep, '3600']\n"
        "  replicas:\n    min: 1\n    max: 4\n"
        "  stopGracePeriod: 1s\n"
        "  scaling:\n"
        "    interval: 1s\n"
        "    metrics:\n"
        "      - query: sum(demo_queue_length)\n"
        "        target: 30\n"
        "    scaleUp:\n      maxStep: 4\n      period: 1s\n"
    )


def healing_yaml() -> str:
    """The demo HealingPolicy: check every second, at most 3 restarts in 5 minutes, then
    tell the demo channel."""
    key, value = CRASHLOOP_LABEL
    return (
        "# Written by `converge demo`: heal the demo's crash-looping container.\n"
        "apiVersion: converge/v1\n"
        "kind: HealingPolicy\n"
        "metadata:\n"
        "  name: demo-crashloop\n"
        "spec:\n"
        "  selector:\n"
        f"    labels:\n      {key}: {value}\n"
        "  check:\n    type: state\n    interval: 1s\n    timeout: 500ms\n"
        "  failureThreshold: 1\n"
        "  restart:\n    maxRestarts: 3\n    window: 5m\n"
        "    backoff:\n      initial: 1s\n      max: 2s\n"
        "    verifyTimeout: 5s\n"
        "  alert:\n    level: critical\n"
        f"    channels: [{DEMO_CHANNEL}]\n"
    )


def routing_with_demo_route(text: str, *, group_interval: str = "5s") -> str:
    """Put a first route sending the demo alert to the demo channel, without waiting, and
    escalating to it again (levels after `ESCALATION_AFTER`) while nobody acknowledges."""
    route = (
        "    routes:\n"
        f"      - receiver: {DEMO_CHANNEL}\n"
        f"        matchers: [alertname=\"{DEMO_ALERT}\"]\n"
        "        groupWait: 0s\n"
        f"        groupInterval: {group_interval}\n"
        "        escalation:\n"
        f"          - {{after: {ESCALATION_AFTER[0]}s, channels: [{DEMO_CHANNEL}]}}\n"
        f"          - {{after: {ESCALATION_AFTER[1]}s, channels: [{DEMO_CHANNEL}]}}\n"
    )
    if "    routes:\n" not in text:
        raise ValueError("routing.yaml has no top-level `routes:` to extend")
    return text.replace("    routes:\n", route, 1)


def with_demo_route_interval(text: str, group_interval: str) -> str:
    """Change the demo route's `groupInterval` (the Alertmanager part of the threshold commit)."""
    return re.sub(r"(receiver: " + DEMO_CHANNEL + r"\n(?:.*\n){2}\s*groupInterval: )\S+",
                  lambda m: m.group(1) + group_interval, text, count=1)


def project_with_notifier(text: str, notifier_url: str) -> str:
    """Point the Project's `notifierURL` at the demo's notifier."""
    return _NOTIFIER_URL.sub(lambda m: m.group(1) + notifier_url, text, count=1)


def secret_env_names(texts: list[str]) -> list[str]:
    """Every `{env: NAME}` secret reference in the spec files, sorted, without duplicates."""
    names = {name for text in texts for name in _SECRET_ENV.findall(text)}
    return sorted(names)


def with_local_secret_files(text: str, secrets_dir: Path) -> str:
    """Move `{file: /etc/converge/secrets/X}` references under the demo's `secrets_dir`."""
    return _SECRET_FILE.sub(lambda m: f"{m.group(1)}{secrets_dir}/{m.group(3)}", text)


def secret_file_names(texts: list[str]) -> list[str]:
    """The names of the secret files `with_local_secret_files` points at."""
    return sorted({m.group(3) for text in texts for m in _SECRET_FILE.finditer(text)})


def create(*, example: Path, root: Path, sink_url: str, notifier_url: str,
           threshold: int) -> tuple[git.Repo, list[str]]:
    """Copy `example` to `root`, add the demo specs, commit on `main`.

    Returns:
        The repository and the secret environment variable names the specs reference.
    """
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".github", "out"))
    secrets_dir = root.parent / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    texts = [p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.yaml"))]
    # Alertmanager needs the channels' secret files; the example pools' secrets stay
    # missing, so the scaler creates none of their (unpullable) containers.
    channel_texts = [p.read_text(encoding="utf-8") for p in sorted(root.glob("channels/*.yaml"))]
    for name in secret_file_names(channel_texts):
        (secrets_dir / name).write_text(f"{sink_url}/secret/{name}\n", encoding="utf-8")
    for path in sorted(root.rglob("*.yaml")):
        original = path.read_text(encoding="utf-8")
        changed = with_local_secret_files(original, secrets_dir)
        if changed != original:
            path.write_text(changed, encoding="utf-8")
    project = root / "converge.yaml"
    project.write_text(project_with_notifier(project.read_text(encoding="utf-8"), notifier_url),
                       encoding="utf-8")
    routing = root / "routing.yaml"
    routing.write_text(routing_with_demo_route(routing.read_text(encoding="utf-8")),
                       encoding="utf-8")
    (root / "channels" / f"{DEMO_CHANNEL}.yaml").write_text(channel_yaml(sink_url),
                                                          encoding="utf-8")
    (root / "rules" / "demo.yaml").write_text(rules_yaml(threshold), encoding="utf-8")
    (root / "pools" / f"{DEMO_POOL}.yaml").write_text(pool_yaml(), encoding="utf-8")
    (root / "healing" / "demo-crashloop.yaml").write_text(healing_yaml(), encoding="utf-8")
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "converge demo")
        config.set_value("user", "email", "demo@converge.invalid")
    commit(repo, "repo-example, with the demo's rule and channel")
    return repo, [*secret_env_names(texts), DEMO_TOKEN_ENV]


def commit(repo: git.Repo, message: str) -> str:
    """Stage everything in the work tree and commit it; returns the commit's hash."""
    repo.git.add(A=True)
    return repo.index.commit(message).hexsha
