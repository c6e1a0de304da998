"""Plain text for a terminal: every section in full, the unified diffs as they are."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from converge.compiler.diff import files
from converge.compiler.diff.changes import FieldChange, ItemChange, RuleChange, Status
from converge.compiler.diff.fields import changed_lines
from converge.compiler.diff.model import BundleDiff
from converge.compiler.diff.report import (
    Context,
    Failure,
    failure_title,
    summary_text,
    value_text,
)
from converge.compiler.formats import human
from converge.compiler.formats.terminal import visible

_MARKS = {Status.ADDED: "+", Status.REMOVED: "-", Status.CHANGED: "~", Status.MOVED: ">"}
_INLINE = 60


def render(diff: BundleDiff, context: Context) -> str:
    """The whole report."""
    lines = [f"converge diff: {context.base.shown} → {context.head.shown}"]
    lines.extend(f"note: {note}" for note in context.notes)
    if not diff.changed:
        lines.append(f"no change (bundle {diff.head_hash[:12]})")
        return visible("\n".join(lines) + "\n")
    lines.append(f"bundle {diff.base_hash[:12]} → {diff.head_hash[:12]}")
    width = max(len(t.target) for t in diff.targets)
    lines.append("")
    lines.extend(f"{t.target:<{width}}  {summary_text(t)}" for t in diff.targets)
    lines.extend(_section("Rule groups", _items(diff.groups)))
    lines.extend(_section("Rules", _rules(diff.rules)))
    lines.extend(_section("New warnings", _warnings(diff)))
    lines.extend(_section("Routing impact (the receivers each alert can reach)",
                          _alerts(diff)))
    for title, items in (("Routes", diff.routes), ("Receivers", diff.receivers),
                         ("Inhibit rules", diff.inhibit_rules),
                         ("Time intervals", diff.time_intervals),
                         ("Reconciler", diff.reconciler)):
        lines.extend(_section(title, _items(items)))
    lines.extend(_section("Rendered files", _files(diff)))
    return visible("\n".join(lines) + "\n")  # spec text never drives the terminal


def failure(failures: Iterable[Failure], context: Context) -> str:
    """Each side that does not compile, with its diagnostics as `converge check` shows them."""
    parts = [visible(f"converge diff: {context.base.shown} → {context.head.shown}\n")]
    for found in failures:
        parts.append(f"\nerror: {failure_title(found)}\n\n")
        parts.append(human.render(found.report))
    return "".join(parts)


def _section(title: str, lines: Iterable[str]) -> list[str]:
    body = list(lines)
    return ["", f"{title}:", *body] if body else []


def _fields(fields: Iterable[FieldChange], indent: str, status: Status) -> Iterator[str]:
    for f in fields:
        note = f" ({f.note})" if f.note else ""
        before, after = value_text(f.before), value_text(f.after)
        if status in (Status.ADDED, Status.REMOVED):  # the value the element has (had)
            shown = f.after if f.after is not None else f.before or ""
            if "\n" in shown:
                yield f"{indent}{f.field}:{note}"
                yield from (f"{indent}  {line}" for line in shown.splitlines())
            else:
                yield f"{indent}{f.field}: {shown}{note}"
        elif "\n" in before + after or len(before) + len(after) > 2 * _INLINE:
            yield f"{indent}{f.field}:{note}"
            if f.before is not None and f.after is not None:  # only the lines that differ
                yield from (f"{indent}  {mark} {line}".rstrip()
                            for mark, line in changed_lines(before, after))
            else:
                yield from (f"{indent}  - {line}" for line in before.splitlines())
                yield from (f"{indent}  + {line}" for line in after.splitlines())
        else:
            yield f"{indent}{f.field}: {before} → {after}{note}"


def _rules(changes: Iterable[RuleChange]) -> Iterator[str]:
    for c in changes:
        where = (f"moved from {c.from_group} to {c.group}" if c.status is Status.MOVED
                 else f"in {c.group}")
        kind = "" if c.kind == "alert" else "record "
        targets = f" [{', '.join(c.targets)}]" if c.status is Status.ADDED else ""
        yield f"  {_MARKS[c.status]} {kind}{c.title} {where}{targets}"
        yield from _fields(c.fields, "      ", c.status)


def _items(items: Iterable[ItemChange]) -> Iterator[str]:
    for item in items:
        yield f"  {_MARKS[item.status]} {item.kind} {item.name}"
        yield from _fields(item.fields, "      ", item.status)


def _warnings(diff: BundleDiff) -> Iterator[str]:
    for d in diff.warnings:
        where = f"{d.path}:{d.span.line}" if d.span is not None else d.path
        yield f"  {where}: {d.severity.value}[{d.code}]: {d.message}"


def _alerts(diff: BundleDiff) -> Iterator[str]:
    for alert in diff.alerts:
        yield f"  {alert.title} in {alert.group}"
        for label, receivers in (("before", alert.before), ("after ", alert.after)):
            shown = ("(no such alert)" if receivers is None
                     else ", ".join(receivers) or "(no receiver)")
            yield f"      {label}: {shown}"
        if alert.before is not None and alert.after is not None:
            delta = [f"+{r}" for r in alert.after if r not in alert.before]
            delta += [f"-{r}" for r in alert.before if r not in alert.after]
            yield f"      change: {' '.join(delta)}"


def _files(diff: BundleDiff) -> Iterator[str]:
    diffs = [(change, files.unified(change)) for change in diff.files]
    for change, found in diffs:
        yield f"  {_MARKS[change.status]} {change.path} (+{found.added} -{found.removed})"
    for _, found in diffs:
        yield ""
        yield from found.text.rstrip("\n").splitlines()
