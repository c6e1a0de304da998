"""The sidecar tells the notifier of sync failures and rollbacks (issue 21): the first
failure and every rollback fire an event, failures while backing off say nothing new, a
success after failures resolves it."""

from __future__ import annotations

import pytest

from converge.reconciler.sidecar.decide import Step
from converge.reconciler.sidecar.events import event_for
from converge.reconciler.sidecar.sync import Report

OK = Report("success", Step.APPLY, "applied abc123", "abc123", None)
FAILED = Report("failure", Step.APPLY, "promtool: bad rule", None, None)
ROLLED_BACK = Report("failure", Step.APPLY, "reload failed; rolled back to abc123", "abc123",
                     None, rolled_back=True)
SAME = Report("unchanged", Step.APPLY, "up to date", "abc123", None)


@pytest.mark.parametrize(("failing", "report", "expected", "after"), [
    pytest.param(False, FAILED, ("error", "firing", "sync_failed"), True, id="first-failure"),
    pytest.param(True, FAILED, None, True, id="still-failing-says-nothing"),
    pytest.param(True, ROLLED_BACK, ("error", "firing", "rollback"), True,
                 id="a-rollback-always-tells"),
    pytest.param(True, OK, ("info", "resolved", "sync_failed"), False, id="recovered"),
    pytest.param(False, OK, None, False, id="healthy"),
    pytest.param(True, SAME, None, True, id="unchanged-keeps-the-state"),
])
def test_event_for(failing: bool, report: Report, expected: tuple[str, str, str] | None,
                   after: bool) -> None:
    event, failing_after = event_for(failing, report, target="prometheus", cluster="prod",
                                     instance="host-1", now=0.0)
    assert failing_after == after
    if expected is None:
        assert event is None
        return
    assert event is not None
    document = event.to_json()
    assert (document["level"], document["status"], document["labels"]["type"]) == expected
    assert document["source"] == "sidecar"
    assert document["labels"]["target"] == "prometheus"
    assert document["title"] == ("prometheus on host-1: rolled back" if expected[2] ==
                                 "rollback" else "prometheus on host-1: sync failing")
