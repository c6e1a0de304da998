"""Durations are valid and sane.

Durations are Prometheus durations: a number and a unit (ms, s, m, h, d, w, y), largest
unit first, such as `90s` or `1h30m` (checked as specs are read). Beyond syntax:
`groupInterval` and `repeatInterval` cannot be zero (amtool rejects it), a rule group's
`interval` and a rule test's `interval` cannot be zero, and a health check's `timeout`
must be shorter than its `interval`.

Fix: write a valid, positive duration.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.model import Model
from converge.specs.common import parse_duration

CODE = "duration/invalid"
SEVERITY = Severity.ERROR
SUMMARY = "a duration is malformed, zero where it cannot be, or out of order"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is not None:
        for route in routes.walk(model.routing.route):
            for field, value in (("groupInterval", route.group_interval),
                                 ("repeatInterval", route.repeat_interval)):
                if value is not None and parse_duration(value) == 0:
                    yield ctx.diag(route.origin.child(field), CODE, f"{field} cannot be zero")
    for group in model.groups:
        if group.interval is not None and parse_duration(group.interval) == 0:
            yield ctx.diag(group.origin.child("interval"), CODE, "interval cannot be zero")
    for group in model.groups:
        for test in group.tests:
            if test.spec.interval is not None and parse_duration(test.spec.interval) == 0:
                yield ctx.diag(test.origin.child("interval"), CODE,
                               "a rule test's interval cannot be zero")
    for policy in model.healing:
        check_spec = policy.spec.check
        if parse_duration(check_spec.timeout) >= parse_duration(check_spec.interval):
            yield ctx.diag(policy.origin.child("check", "timeout"), CODE,
                           f"check timeout {check_spec.timeout} is not shorter than its "
                           f"interval {check_spec.interval}")
