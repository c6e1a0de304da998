"""Housekeeping (issue 21): the healer's failure records and the notifier's dead letters
are deleted past their retention (default 30 days), open incidents and newer rows kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from converge.compiler.commands.main import main
from converge.reconciler.healer.containers import COMPOSE_PROJECT, COMPOSE_SERVICE, Container
from converge.reconciler.healer.policy import Record
from converge.reconciler.healer.records import Records
from converge.reconciler.notifier.daemon import Settings
from converge.reconciler.notifier.outbox import NewMessage, Outbox

DAY = 86400.0
WEB = Container("c1", "shop-web-1", {COMPOSE_PROJECT: "shop", COMPOSE_SERVICE: "web"},
                "running")


def test_healer_prunes_resolved_records_past_the_retention(tmp_path: Path) -> None:
    records = Records(tmp_path / "h.db")
    records.write(WEB, "p", [Record("container_stopped", "old", "restart", "pending",
                                    op="open")], now=1 * DAY)
    records.write(WEB, "p", [Record("recovered", "ok", "none", "success", op="resolve")],
                  now=1 * DAY + 60)
    records.write(WEB, "p", [Record("container_stopped", "open", "restart", "pending",
                                    op="open")], now=2 * DAY)
    records.write(WEB, "p", [Record("health_check_failed", "new", "none", "skipped")],
                  now=40 * DAY)
    assert records.prune(before=40 * DAY - 30 * DAY) == 1  # the old, resolved one
    assert [r["message"] for r in records.history()] == ["new", "open"]
    records.close()


def test_notifier_prunes_dead_letters_past_the_history_retention(tmp_path: Path) -> None:
    now = [1000 * DAY]

    async def scenario() -> None:
        outbox = Outbox(tmp_path / "o.db", clock=lambda: now[0])
        old, new = await outbox.accept([NewMessage("dt", "event", "{}", "a"),
                                        NewMessage("dt", "event", "{}", "b")])
        assert old is not None and new is not None
        await outbox.dead(old, "bad key")
        now[0] += 20 * DAY
        await outbox.dead(new, "bad key")
        now[0] += 15 * DAY
        assert await outbox.prune_history(keep=30 * DAY) == 1
        assert [d["id"] for d in await outbox.dead_letters()] == [new]
        outbox.close()

    asyncio.run(scenario())


def test_retention_defaults_are_thirty_days() -> None:
    assert Settings(bundle="b", db=Path("x")).history_retention == 30 * DAY
    for command in (["notifier", "--help"], ["healer", "--help"]):
        shown = CliRunner().invoke(main, command).output
        assert "30d" in shown


def test_the_open_incident_gives_the_self_healing_response_time(tmp_path: Path) -> None:
    records = Records(tmp_path / "h.db")
    records.write(WEB, "p", [Record("container_stopped", "exited 1", "restart", "pending",
                                    op="open")], now=100.0)
    assert records.open_since("c1") == 100.0
    records.write(WEB, "p", [Record("recovered", "ok", "none", "success", op="resolve")],
                  now=130.0)
    assert records.open_since("c1") is None
    records.close()
