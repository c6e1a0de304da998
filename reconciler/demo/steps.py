"""The demo's walk-through: each step acts on the running stack and returns its proof, read
back from the servers' own APIs (never from what the demo believes it did)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from converge.reconciler.demo import stack as stacks
from converge.reconciler.demo import workspace

STEP_TIMEOUT = 60.0
"""How long a step waits for the stack to show what it expects."""


@dataclasses.dataclass(frozen=True)
class Proof:
    """What a step showed: one line per fact, each read back from a running component."""

    title: str
    lines: tuple[str, ...]


class StepFailed(RuntimeError):
    """The stack did not show what the step expected in time."""


def wait_for(check: Callable[[], Any], *, what: str, timeout: float = STEP_TIMEOUT) -> Any:
    """Poll `check` until it returns something truthy; raise `StepFailed` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, KeyError, ValueError) as error:
            last_error, value = error, None
        if value:
            return value
        time.sleep(0.25)
    detail = f" (last error: {last_error})" if last_error else ""
    raise StepFailed(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def _get(url: str, **headers: str) -> Any:
    response = httpx.get(url, headers=headers, timeout=5)
    response.raise_for_status()
    return response.json()


def _sync_state(s: stacks.Stack) -> dict[str, Any]:
    state: dict[str, Any] = _get(s.server_url + "/api/v1/config/sync", **s.auth)
    return state


def _fleet(s: stacks.Stack) -> dict[str, dict[str, Any]]:
    rows = _get(s.server_url + "/api/v1/clusters", **s.auth)["clusters"]
    return {row["target"]: row for row in rows if row["clusterId"] == stacks.CLUSTER}


def _converged_on(s: stacks.Stack, commit: str) -> dict[str, dict[str, Any]] | None:
    """The fleet rows when the server serves `commit` and every target runs it, verified."""
    state = _sync_state(s)
    if state["commit"] is None or state["lastAttempt"] is None \
            or state["lastAttempt"]["commit"] != commit:
        return None
    fleet = _fleet(s)
    served = state["targets"]
    done = all(t in fleet and fleet[t]["converged"] and fleet[t]["hash"] == served[t]
               for t in stacks.TARGETS)
    return fleet if done else None


def first_sync(s: stacks.Stack) -> Proof:
    """Step 1: every target loads the first commit and the sidecars verify what it loaded."""
    commit = s.repo.head.commit.hexsha
    fleet = wait_for(lambda: _converged_on(s, commit), what="all three targets to converge")
    lines = [f"server compiled commit {commit[:12]}"]
    lines += [f"{t:<13} hash {fleet[t]['hash'][:16]}  verified by its sidecar "
              f"(converged={fleet[t]['converged']}, upToDate={fleet[t]['upToDate']})"
              for t in stacks.TARGETS]
    return Proof("first sync: each target runs the compiled bundle, hash-verified",
                 tuple(lines))


def _rule_expr(url: str, alert: str) -> str | None:
    """The expression of `alert` as Prometheus or vmalert evaluates it (`/api/v1/rules`)."""
    for group in _get(url + "/api/v1/rules")["data"]["groups"]:
        for rule in group["rules"]:
            if rule.get("name") == alert:
                query: str = rule["query"]
                return query
    return None


def _demo_route_interval(url: str) -> str | None:
    """The demo route's `group_interval` in the configuration Alertmanager runs."""
    config = yaml.safe_load(_get(url + "/api/v2/status")["config"]["original"])
    for route in config["route"].get("routes", []):
        if route.get("receiver") == workspace.DEMO_CHANNEL:
            interval: str | None = route.get("group_interval")
            return interval
    return None


def threshold_change(s: stacks.Stack, *, threshold: int, group_interval: str) -> Proof:
    """Step 2: one commit changes the demo threshold (rules) and the demo route (routing)."""
    root = Path(str(s.repo.working_dir))
    (root / "rules" / "demo.yaml").write_text(workspace.rules_yaml(threshold), encoding="utf-8")
    routing = root / "routing.yaml"
    routing.write_text(workspace.with_demo_route_interval(
        routing.read_text(encoding="utf-8"), group_interval), encoding="utf-8")
    commit = workspace.commit(s.repo, f"demo: threshold {threshold}, group interval "
                                      f"{group_interval}")
    wait_for(lambda: _converged_on(s, commit), what=f"commit {commit[:12]} on all targets")
    def evaluates(target: str) -> Callable[[], str | None]:
        def check() -> str | None:
            expr = _rule_expr(s.target_urls[target], workspace.DEMO_ALERT)
            return expr if expr and expr.endswith(f"> {threshold}") else None
        return check

    exprs = {target: wait_for(evaluates(target), what=f"{target} to evaluate the new threshold")
             for target in ("prometheus", "vmalert")}
    wait_for(lambda: _demo_route_interval(s.target_urls["alertmanager"]) == group_interval,
             what="Alertmanager to load the new route")
    return Proof(f"a commit changing the threshold to {threshold} reaches all three targets", (
        f"commit {commit[:12]} compiled and verified on every target",
        f"prometheus    /api/v1/rules: {workspace.DEMO_ALERT} expr = {exprs['prometheus']}",
        f"vmalert       /api/v1/rules: {workspace.DEMO_ALERT} expr = {exprs['vmalert']}",
        f"alertmanager  /api/v2/status: demo route group_interval: {group_interval}",
    ))


def bad_commit(s: stacks.Stack, *, threshold: int) -> Proof:
    """Step 3: a commit that does not compile is refused; the targets keep what they run."""
    before = {t: row["hash"] for t, row in _fleet(s).items()}
    served_before = _sync_state(s)["commit"]
    rules = Path(str(s.repo.working_dir)) / "rules" / "demo.yaml"
    rules.write_text(workspace.rules_yaml(threshold, broken=True), encoding="utf-8")
    bad = workspace.commit(s.repo, "demo: an expression with an unclosed parenthesis")
    state = wait_for(lambda: (st := _sync_state(s))["lastAttempt"]
                     and st["lastAttempt"]["commit"] == bad and st,
                     what="the server to try the bad commit")
    attempt = state["lastAttempt"]
    if attempt["result"] == "success":
        raise StepFailed(f"the bad commit {bad[:12]} compiled")
    time.sleep(2)  # two sidecar intervals: any change would have reached the targets
    after = {t: row["hash"] for t, row in _fleet(s).items()}
    diagnostics = attempt.get("diagnostics") or []
    first = diagnostics[0] if diagnostics else {}
    message = (f"{first.get('path')}:{first.get('line')}: {first.get('code')}: "
               f"{first.get('message')}") if first else str(state["lastError"])
    if after != before or state["commit"] != served_before:
        raise StepFailed("a target changed after a commit that did not compile")
    rules.write_text(workspace.rules_yaml(threshold), encoding="utf-8")
    fixed = workspace.commit(s.repo, "demo: fix the expression")
    wait_for(lambda: _converged_on(s, fixed), what=f"the fix {fixed[:12]}")
    return Proof("a bad commit is refused by the compiler", (
        f"commit {bad[:12]}: result {attempt['result']}, {len(diagnostics)} diagnostic(s)",
        f"server's last error: {message}",
        f"still served: {served_before[:12]}; target hashes unchanged: "
        + ", ".join(f"{t} {h[:12]}" for t, h in sorted(after.items())),
        f"fixed by commit {fixed[:12]} (same bundle, nothing reloaded)",
    ))


def alert_delivered(s: stacks.Stack, *, value: float) -> Proof:
    """Step 4: the exporter's queue crosses the threshold; the alert reaches the sink."""
    s.exporter.set("demo_queue_length", value)

    def delivered() -> dict[str, Any] | None:
        for body in s.sink.deliveries():
            if workspace.DEMO_ALERT in str(body):
                return body
        return None

    body = wait_for(delivered, what="the alert to arrive at the sink", timeout=90)
    markdown = body.get("markdown") or {}
    text = str(markdown.get("text") or body.get("text") or body)
    return Proof("an alert fires and arrives, rendered, at the sink", (
        f"exporter: demo_queue_length = {value:g}",
        f"sink received a DingTalk {body.get('msgtype')} message "
        f"titled {markdown.get('title')!r}:",
        *("    " + line for line in text.strip().splitlines()),
    ))


def _pages(s: stacks.Stack, level: int) -> list[dict[str, Any]]:
    """The demo alert's escalation pages of `level` the sink received."""
    return [b for b in s.sink.deliveries()
            if f"[ESCALATION {level}] {workspace.DEMO_ALERT}" in str(b)]


def _tracked(s: stacks.Stack) -> list[dict[str, Any]]:
    """The notifier's tracking of the demo alert: one per evaluator (Prometheus and
    vmalert each send it, with their own labels)."""
    listed = httpx.get(s.notifier_url + "/api/v1/escalations", headers=s.auth,
                       timeout=5).json()["escalations"]
    return [t for t in listed if t["alertname"] == workspace.DEMO_ALERT]


def escalation(s: stacks.Stack, *, value: float) -> Proof:
    """Step 7: the firing demo alert nobody acknowledges reaches the second escalation
    level; resolved, fired again and acknowledged, it pages nobody more."""
    first, second = workspace.ESCALATION_AFTER
    s.exporter.set("demo_queue_length", value)  # firing since step 4
    page = wait_for(lambda: next(iter(_pages(s, 2)), None),
                    what="the second escalation level at the sink", timeout=first + second + 60)
    title = (page.get("markdown") or {}).get("title") or str(page)[:100]
    evaluators = max(1, len(_tracked(s)))
    s.exporter.set("demo_queue_length", 0)
    wait_for(lambda: not _tracked(s), what="the resolve to stop the escalation", timeout=90)
    s.exporter.set("demo_queue_length", value)
    wait_for(lambda: len(_tracked(s)) >= evaluators, what="the notifier to track the alert again",
             timeout=90)
    again = _tracked(s)
    for tracked in again:
        answer = httpx.post(f"{s.notifier_url}/api/v1/alerts/{tracked['fingerprint']}/ack",
                            json={"by": "demo"}, headers=s.auth, timeout=5)
        if answer.status_code != 200:
            raise StepFailed(f"the acknowledgement was refused: HTTP {answer.status_code}")
    before = len(_pages(s, 1))
    time.sleep(first + 3)  # past the first level's time
    acked = {t["ackedBy"] for t in _tracked(s)}
    if len(_pages(s, 1)) != before or acked != {"demo"}:
        raise StepFailed(f"the acknowledged alert escalated anyway (acknowledged: {acked})")
    return Proof("an alert nobody acknowledges escalates; an acknowledged one does not", (
        f"levels: after {first}s and {second}s, to {workspace.DEMO_CHANNEL}",
        f"sink received the second level: {title!r}",
        f"resolved, fired again (from {len(again)} evaluators), acknowledged: "
        "POST /api/v1/alerts/<fingerprint>/ack",
        f"{first + 3}s later: no new page at the sink; acknowledged by "
        f"{', '.join(repr(a) for a in sorted(acked))}",
    ))
