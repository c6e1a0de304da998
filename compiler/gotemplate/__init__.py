"""Static checks for the Go text/template strings in alert rules and Alertmanager templates.

Alert annotations and labels in Prometheus and vmalert rules, and Alertmanager notification
templates, are Go ``text/template`` programs. promtool, vmalert and amtool refuse a rule file or
a configuration whose templates Go's parser rejects, usually naming nothing better than a line of
generated text. This package re-implements Go's template lexer and parser
(``text/template/parse``) closely enough to reject the same templates first, with the character
offset of every problem and without a Go toolchain, and lists the alert labels a template reads
so that callers can compare them with the labels a rule produces.

It checks syntax, the function names each dialect defines and the scope of variables. Like Go's
parser it does not type-check arguments, and nothing is ever executed. The syntax is that of Go
1.23 (``{{else with}}``) and the function sets those of current releases, so a template can pass
here and still fail on an older promtool, vmalert or Alertmanager.
"""

from __future__ import annotations

from converge.compiler.gotemplate.names import (
    ALERTMANAGER_FUNCTIONS,
    PROMETHEUS_FUNCTIONS,
    VMALERT_FUNCTIONS,
    Dialect,
    known_names,
)
from converge.compiler.gotemplate.parser import template_problems
from converge.compiler.gotemplate.problems import TemplateProblem
from converge.compiler.gotemplate.references import LabelReference, label_references

__all__ = [
    "ALERTMANAGER_FUNCTIONS",
    "PROMETHEUS_FUNCTIONS",
    "VMALERT_FUNCTIONS",
    "Dialect",
    "LabelReference",
    "TemplateProblem",
    "known_names",
    "label_references",
    "template_problems",
]
