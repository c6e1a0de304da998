"""Templates use only the external labels the Project declares.

`{{ $externalLabels.cluster }}` in an alert's labels or annotations expands to the
target's external label of that name; the Project's `externalLabels` are the ones
converge gives Prometheus and vmalert. A name that is not among them expands to an empty
string in every notification (Prometheus) or fails the template (vmalert).

Fix: declare the label in the Project's `externalLabels`, or correct its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "alerts/external-labels"
SEVERITY = Severity.WARNING
SUMMARY = "a template uses an external label the Project does not declare"
_REFERENCE = re.compile(r'\$externalLabels\.([a-zA-Z_][a-zA-Z0-9_]*)'
                        r'|index\s+\$externalLabels\s+"([^"]*)"')


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    declared = model.project.external_labels
    for rule in model.written_rules():
        for field, values in (("labels", rule.labels), ("annotations", rule.annotations)):
            for key, text in values.items():
                for found in _REFERENCE.finditer(text):
                    name = found[1] or found[2]
                    if name in declared:
                        continue
                    yield ctx.diag_in_value(
                        rule.origin.child(field, key), found.start(), CODE,
                        f"external label {name!r} is not declared by the Project "
                        f"(declared: {', '.join(sorted(declared)) or 'none'})",
                        value=text, severity=SEVERITY,
                        hint="add it to the Project's `externalLabels`")
