"""Label names are valid Prometheus label names.

A label name is letters, digits and underscores, not starting with a digit; names
starting with `__` are reserved. This covers rule labels, external labels, inhibit
`equal` (checked as they are read) and route `groupBy` (checked here, where `...` is also
allowed).

Fix: rename the label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.evaluate import routes
from converge.compiler.model import Model

CODE = "label/invalid-name"
SEVERITY = Severity.ERROR
SUMMARY = "a label name is not a valid Prometheus label name"
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    if model.routing is None:
        return
    for route in routes.walk(model.routing.route):
        for i, name in enumerate(route.group_by or ()):
            if name != "..." and not _LABEL.match(name):
                yield ctx.diag(route.origin.child("groupBy", i), CODE,
                               f"{name!r} is not a valid label name")
