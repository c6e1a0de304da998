"""Templates parse.

Alert annotations and labels are Go templates, as Prometheus and vmalert expand them
(`{{ $labels.instance }}`, `{{ $value | humanize }}`); a template Go's parser rejects
makes promtool and vmalert reject the whole file. Unknown functions, unclosed actions,
`if`/`range` without `end` and undefined variables are reported at their column.
Channel message templates are Go templates for Alertmanager-delivered types and Jinja2
for notifier-delivered ones (dingtalk, wecom, feishu).

Fix: correct the template; write a literal `{{` as `{{ "{{" }}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from converge.compiler import targets, templatecheck
from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model, Origin
from converge.specs.channel import NOTIFIER_TYPES

CODE = "template/syntax"
SEVERITY = Severity.ERROR
SUMMARY = "a Go or Jinja2 template does not parse"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    seen: set[Origin] = set()
    for group in model.groups:
        for rule in group.rules:
            if rule.origin in seen:
                continue
            seen.add(rule.origin)
            for field in ("labels", "annotations"):
                values = rule.labels if field == "labels" else rule.annotations
                for name, text in values.items():
                    if "{{" in text:
                        origin = rule.origin.child(field, name)
                        yield from _rule_template(ctx, model, origin, text, rule.targets)
    for channel in model.channels:
        template = channel.spec.template
        if template is None:
            continue
        for field in ("title", "body"):
            text = getattr(template, field)
            if not text:
                continue
            origin = channel.origin.child("template", field)
            if channel.spec.type in NOTIFIER_TYPES:
                yield from _jinja(ctx, origin, text)
            else:
                yield from _go(ctx, origin, text, "alertmanager")


def _rule_template(ctx: Context, model: Model, origin: Origin, text: str,
                   rule_targets: tuple[str, ...]) -> Iterator[Diagnostic]:
    """Each target expands the template itself, so check it in each target's dialect."""
    reported: set[tuple[int, str]] = set()
    for target in rule_targets:
        version = model.project.targets[target].version
        unavailable = targets.unavailable_template_names(target, version)
        for problem in templatecheck.problems(text, target, unavailable):
            if (problem.offset, problem.message) in reported:
                continue
            reported.add((problem.offset, problem.message))
            where = f" ({target} {model.project.targets[target].version_text})" if len(
                rule_targets) > 1 else ""
            yield ctx.diag_in_value(origin, problem.offset, CODE, problem.message + where,
                                    value=text)


def _go(ctx: Context, origin: Origin, text: str, dialect: str) -> Iterator[Diagnostic]:
    for problem in templatecheck.problems(text, dialect):
        yield ctx.diag_in_value(origin, problem.offset, CODE, problem.message, value=text)


def _jinja(ctx: Context, origin: Origin, text: str) -> Iterator[Diagnostic]:
    import jinja2  # only repositories with notifier templates pay for the import

    try:
        jinja2.Environment(autoescape=False).parse(text)
    except jinja2.TemplateSyntaxError as error:
        lines = text.split("\n")
        offset = sum(len(line) + 1 for line in lines[: max(0, (error.lineno or 1) - 1)])
        yield ctx.diag_in_value(origin, offset, CODE, f"Jinja2: {error.message}", value=text)
