"""`converge scaler history` reads the decisions the scaler recorded; `converge scaler`
refuses to start without its bundle or Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from converge.compiler.commands.main import main
from converge.reconciler.scaler import policy
from converge.reconciler.scaler.config import Metric, Pool
from converge.reconciler.scaler.records import Records


def test_history_shows_decisions_and_actions(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "scaler.db"
    records = Records(db)
    pool = Pool(name="jobs", metrics=(Metric("sum(q)", 10.0),))
    decision = policy.decide(pool, policy.PoolState(desired=1), [policy.Reading(value=35)],
                             current=1, now=100.0)
    records.decide("jobs", decision, current=1, now=100.0, inputs={"readings": [35]},
                   record=True)
    records.act("jobs", action="create", container="abc", reason="below desired count",
                result="success", now=101.0)
    records.close()
    result = runner.invoke(main, ["scaler", "history", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "1 → 4" in result.output and "below desired count" in result.output
    result = runner.invoke(main, ["scaler", "history", "--db", str(db), "--format", "json"])
    document = json.loads(result.output)
    assert document["decisions"][0]["inputs"] == {"readings": [35]}
    assert Records(db).states()["jobs"].desired == 4


def test_history_without_a_database(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["scaler", "history", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2


def test_scaler_needs_bundle_and_prometheus(runner: CliRunner) -> None:
    assert runner.invoke(main, ["scaler", "--insecure-no-auth"]).exit_code == 2
    missing = runner.invoke(main, ["scaler", "--bundle", "out", "--insecure-no-auth"])
    assert missing.exit_code == 2 and "--prometheus URL is required" in missing.output


def test_scaler_refuses_a_prometheus_that_is_not_a_url(runner: CliRunner) -> None:
    result = runner.invoke(main, ["scaler", "--bundle", "out", "--prometheus", "localhost:9090",
                                  "--insecure-no-auth"])
    assert result.exit_code == 2
    assert "not an http(s):// URL" in result.output
