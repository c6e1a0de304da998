"""`for` and `keepFiringFor` say something.

`for: 0s` is what an alert without `for` does already (it fires on the first evaluation
that returns a series); written out, it usually means a value was meant and lost.
`keepFiringFor: 0s` likewise does nothing. A `keepFiringFor` longer than an hour keeps a
resolved problem paging long after it is fixed, and inhibits or silences matching it
outlive it too: such values are reported as well.

Fix: remove the zero value, or set the duration that was meant.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.specs.common import parse_duration

CODE = "alerts/for"
SEVERITY = Severity.WARNING
SUMMARY = "`for` or `keepFiringFor` is zero (does nothing) or keeps firing for too long"
_LONG = 3600.0


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for _, rule in model.alerts():
        if rule.origin in seen or rule.tier is not None:
            continue
        seen.add(rule.origin)
        for field, value in (("for", rule.for_), ("keepFiringFor", rule.keep_firing_for)):
            seconds = _seconds(value)
            if seconds == 0:
                yield ctx.diag(rule.origin.child(field), CODE,
                               f"{field}: {value} does nothing: it is the default",
                               hint=f"remove `{field}`, or set the duration meant",
                               severity=SEVERITY)
            elif field == "keepFiringFor" and seconds is not None and seconds > _LONG:
                yield ctx.diag(rule.origin.child(field), CODE,
                               f"keepFiringFor: {value} keeps {rule.name!r} firing over an "
                               "hour after its condition clears",
                               hint="keep it to a few evaluation intervals (flapping) or "
                                    "minutes", severity=SEVERITY)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None
