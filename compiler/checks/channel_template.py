"""Notifier message templates render against a sample alert.

`converge notifier` renders the `template.title` and `template.body` of dingtalk, wecom
and feishu channels with sandboxed Jinja2 for every message. A template that parses can
still fail on every message: a filter applied to the wrong type (`{{ alerts | join }}`
on mappings), arithmetic on text, a call the sandbox refuses (`{{ alerts.append(1) }}`,
`{{ ''.__class__ }}`), or a name that does not exist (`{{ staus }}` renders nothing,
forever). A template that would run for over a second or build more than a few
megabytes (a huge `range`, `'a' * 10**9`, text doubled in a loop) is stopped and
reported too: the notifier bounds each render the same way. This check renders each
template against a sample firing alert, a sample resolved alert and a sample daemon
event, and reports the first failure of each at its line in the template. The names a
template can use are `status`, `alerts` (each with `status`, `labels`, `annotations`,
`startsAt`, `endsAt`, `generatorURL`, `fingerprint`), `firing`, `resolved`,
`groupLabels`, `commonLabels`, `commonAnnotations`, `externalURL`, `receiver`,
`groupKey`, `truncatedAlerts`, `channel`, `kind` and `event`.

Fix: correct the template (see docs/notifier.md for the context and the defaults).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import TracebackType

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model
from converge.specs.channel import NOTIFIER_TYPES

CODE = "channel/template"
SEVERITY = Severity.ERROR
SUMMARY = "a notifier message template fails on a sample alert"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for channel in model.channels:
        template = channel.spec.template
        if template is None or channel.spec.type not in NOTIFIER_TYPES:
            continue
        for field in ("title", "body"):
            text = getattr(template, field)
            if not text:
                continue
            problem = _problem(text, channel.name)
            if problem is not None:
                offset, message = problem
                yield ctx.diag_in_value(channel.origin.child("template", field), offset, CODE,
                                        message, value=text)


def _problem(text: str, channel: str) -> tuple[int, str] | None:
    """(offset in the template, message) of the first failure, or None."""
    import jinja2  # only repositories with notifier templates pay for the import (60 ms)

    from converge.compiler import messagetemplates

    try:
        unknown = messagetemplates.unknown_names(text)
        messagetemplates.compile_template(text)
    except jinja2.TemplateSyntaxError:
        return None  # template/syntax reports it
    if unknown:
        known = ", ".join(sorted(messagetemplates.CONTEXT_NAMES))
        return _offset_of(text, unknown[0]), (
            f"unknown name {unknown[0]!r}: it is never set, so it renders as nothing "
            f"(known: {known})")
    for context in messagetemplates.sample_contexts(channel):
        try:
            messagetemplates.render(text, context)
        except Exception as error:  # any failure here fails every real message too
            what = "the sample event" if context["kind"] == "event" else (
                f"a sample {context['status']} alert")
            line = getattr(error, "lineno", None) or _template_line(error.__traceback__)
            return _line_offset(text, line), (
                f"fails on {what}: {type(error).__name__}: {error}")
    return None


def _offset_of(text: str, name: str) -> int:
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text)
    return found.start() if found else 0


def _line_offset(text: str, line: int) -> int:
    """The offset of the first non-blank character of `line` (1-based)."""
    lines = text.split("\n")
    start = sum(len(part) + 1 for part in lines[: line - 1])
    current = lines[line - 1] if line <= len(lines) else ""
    return start + len(current) - len(current.lstrip())


def _template_line(traceback: TracebackType | None) -> int:
    """The template line of the innermost frame Jinja2 attributes to the template."""
    line = 1
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
