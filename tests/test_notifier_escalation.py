"""Escalation on virtual time (issue 21): levels paged in order and repeated, tracking that
survives a restart, a resolve that tells every paged level, acknowledgements (API and an
Alertmanager silence) that stop it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import notifierkit
import pytest
from prometheus_client import CollectorRegistry

from converge.reconciler.core.status import Status
from converge.reconciler.notifier import channels as channels_module
from converge.reconciler.notifier import escalation
from converge.reconciler.notifier.channels import Defaults
from converge.reconciler.notifier.metrics import NotifierMetrics
from converge.reconciler.notifier.outbox import Outbox
from converge.reconciler.notifier.service import Notifier

MIN = 60.0
LEVELS = (escalation.Level(after=15 * MIN, channels=("lead",)),
          escalation.Level(after=45 * MIN, channels=("manager",), repeat=30 * MIN))


def _tracked(**changes: Any) -> escalation.Tracked:
    base = escalation.Tracked(route="0", fingerprint="fp", alert={}, first_seen=0.0)
    return escalation.Tracked(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


@pytest.mark.parametrize(("tracked", "now", "expected"), [
    pytest.param(_tracked(), 14 * MIN, None, id="before-the-first-level"),
    pytest.param(_tracked(), 15 * MIN, escalation.Page(0), id="first-level-due"),
    pytest.param(_tracked(paged=1, pages=1, last_paged_at=15 * MIN), 44 * MIN, None,
                 id="first-level-paged-once-no-repeat"),
    pytest.param(_tracked(paged=1, pages=1, last_paged_at=15 * MIN), 45 * MIN,
                 escalation.Page(1), id="second-level-due"),
    pytest.param(_tracked(paged=2, pages=2, last_paged_at=45 * MIN), 74 * MIN, None,
                 id="repeat-not-yet"),
    pytest.param(_tracked(paged=2, pages=2, last_paged_at=45 * MIN), 75 * MIN,
                 escalation.Page(1, repeat=True), id="repeat-of-the-last-level"),
    pytest.param(_tracked(acked_at=1.0), 99 * MIN, None, id="acknowledged"),
    pytest.param(_tracked(), 50 * MIN, escalation.Page(0), id="overdue-levels-one-at-a-time"),
])
def test_due(tracked: escalation.Tracked, now: float, expected: escalation.Page | None) -> None:
    assert escalation.due(LEVELS, tracked, now) == expected


def _payload(fingerprint: str, status: str = "firing") -> dict[str, Any]:
    body = notifierkit.payload(status=status)
    body["alerts"][0]["fingerprint"] = fingerprint
    return body


class FakeSilences:
    def __init__(self) -> None:
        self.fingerprints: set[str] = set()

    async def silenced(self) -> set[str]:
        return set(self.fingerprints)


def _notifier(db: Path, clock: list[float]) -> Notifier:
    notifier = Notifier(outbox=Outbox(db, clock=lambda: clock[0]), http=None,  # type: ignore[arg-type]
                        mail=None,  # type: ignore[arg-type]
                        metrics=NotifierMetrics(CollectorRegistry()), status=Status("notifier"),
                        wall=lambda: clock[0])
    bundle = notifierkit.write_bundle(db.parent / "bundle", {
        "oncall": {"type": "dingtalk", "accessToken": {"env": "X"}},
        "lead": {"type": "wecom", "key": {"env": "X"}},
        "manager": {"type": "email", "to": ["m@example.com"], "from": "a@example.com",
                    "smarthost": "mail:25"}},
        document_extra={"escalations": {"0": [
            {"after": 15 * MIN, "channels": ["lead"], "repeat": None},
            {"after": 45 * MIN, "channels": ["manager"], "repeat": 30 * MIN}]}})
    data = (bundle / "reconciler" / "channels.json").read_bytes()
    notifier.channels = channels_module.parse(data, env=lambda _: "x", file=lambda _: None)
    notifier.defaults = channels_module.parse_defaults(data)
    return notifier


async def _stored(notifier: Notifier) -> list[tuple[str, str, str]]:
    """(channel, title, status) of every stored message, oldest first."""
    rows = await notifier.outbox.recent(limit=100)
    found = []
    for row in sorted(rows, key=lambda r: r["id"]):
        body = json.loads(row["body"])
        found.append((row["channel"], body["title"].split(":")[0], body["status"]))
    return found


def test_levels_survive_a_restart_and_a_resolve_tells_every_paged_level(
        tmp_path: Path) -> None:
    clock = [1000.0]
    db = tmp_path / "outbox.db"

    async def scenario() -> None:
        first = _notifier(db, clock)
        assert (await first.accept_escalation("0", _payload("fp1"))).stored == ()
        clock[0] += 10 * MIN
        assert await first.escalate() == 0
        clock[0] += 5 * MIN
        assert await first.escalate() == 1
        assert await first.escalate() == 0  # paged once
        first.outbox.close()

        second = _notifier(db, clock)  # a restart between two levels
        await second.accept_escalation("0", _payload("fp1"))  # Alertmanager's repeat
        clock[0] += 30 * MIN  # 45 min since the first notification
        assert await second.escalate() == 1
        clock[0] += 30 * MIN
        assert await second.escalate() == 1  # level 2 repeats every 30 min
        resolved = await second.accept_escalation("0", _payload("fp1", "resolved"))
        assert sorted(resolved.stored) == ["lead", "manager"]
        clock[0] += 60 * MIN
        assert await second.escalate() == 0
        assert await _stored(second) == [
            ("lead", "[ESCALATION 1] HighCPU", "firing"),
            ("manager", "[ESCALATION 2] HighCPU", "firing"),
            ("manager", "[ESCALATION 2] HighCPU", "firing"),
            ("lead", "[RESOLVED] HighCPU", "resolved"),
            ("manager", "[RESOLVED] HighCPU", "resolved")]
        second.outbox.close()

    asyncio.run(scenario())


def test_an_acknowledged_or_silenced_alert_does_not_escalate(tmp_path: Path) -> None:
    clock = [1000.0]

    async def scenario() -> None:
        notifier = _notifier(tmp_path / "outbox.db", clock)
        silences = FakeSilences()
        notifier.silences = silences
        for fingerprint in ("acked", "silenced", "paged"):
            await notifier.accept_escalation("0", _payload(fingerprint))
        clock[0] += 5 * MIN
        assert await notifier.acknowledge("acked", by="console")
        assert not await notifier.acknowledge("unknown", by="api")
        silences.fingerprints = {"silenced"}
        clock[0] += 10 * MIN
        assert await notifier.escalate() == 1
        states = {t.fingerprint: t.acked_by for t in await notifier.tracker.tracked()}
        assert states == {"acked": "console", "silenced": "alertmanager silence", "paged": None}
        labels = [json.loads(r["body"])["labels"]["fingerprint"]
                  for r in await notifier.outbox.recent()]
        assert labels == ["paged"]
        resolved = await notifier.accept_escalation("0", _payload("acked", "resolved"))
        assert resolved.stored == ()  # no level was paged: nobody to tell
        notifier.outbox.close()

    asyncio.run(scenario())


def test_an_unknown_escalation_route_is_refused_so_alertmanager_retries(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        notifier = _notifier(tmp_path / "outbox.db", [0.0])
        notifier.defaults = Defaults()
        with pytest.raises(LookupError):
            await notifier.accept_escalation("0", _payload("fp"))
        notifier.outbox.close()

    asyncio.run(scenario())
