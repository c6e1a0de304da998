"""Markdown for a pull-request comment: GitHub-flavoured, and always one comment long.

The sections come most important first; long lists stop after `MAX_ITEMS` entries, and
the rendered files' unified diffs (each collapsed in `<details>`) fill what is left of
`limit` characters (GitHub refuses comments over 65,536). A diff that does not fit is cut
with a note, and the files after it are only named.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator

from converge.compiler.diff import files
from converge.compiler.diff.changes import FieldChange, FileChange, ItemChange, RuleChange, Status
from converge.compiler.diff.fields import changed_lines
from converge.compiler.diff.model import BundleDiff
from converge.compiler.diff.report import (
    Context,
    Failure,
    failure_title,
    summary_text,
)
from converge.compiler.formats import human
from converge.compiler.formats.terminal import visible

COMMENT_LIMIT = 65_536
LIMIT = 64_000
"""The default size: GitHub's limit, less room for a workflow's own marker or footer."""
MAX_ITEMS = 100
_INLINE = 60
_MIN_DIFF = 600
_CUT = "\n\n_… cut here to fit one comment; `converge diff --format human` shows it all._\n"
_WORD = {Status.ADDED: "added", Status.REMOVED: "removed", Status.CHANGED: "changed",
         Status.MOVED: "moved"}


def render(diff: BundleDiff, context: Context, *, limit: int = LIMIT) -> str:
    """The comment, at most `limit` characters."""
    head = [f"### converge diff: {_side(context, 'base')} → {_side(context, 'head')}",
            ""]
    head.extend(f"> {note}" for note in context.notes)
    if not diff.changed:
        head.append(f"No change: the bundle is `{diff.head_hash[:12]}` on both sides.")
        return visible("\n".join(head) + "\n")
    head.append(f"Bundle `{diff.base_hash[:12]}` → `{diff.head_hash[:12]}`.")
    head.append("")
    head.extend(f"- **{t.target}**: {summary_text(t)}" for t in diff.targets)
    blocks = ["\n".join(head) + "\n"]
    blocks.extend(_section("Rule groups", _items(diff.groups)))
    blocks.extend(_section("Rules", _rules(diff.rules)))
    blocks.extend(_section("New warnings", _warnings(diff)))
    blocks.extend(_section("Routing impact", _alerts(diff),
                           "Receivers each alert can reach (its labels decide which):\n\n"
                           "| alert | group | can reach before | can reach after |\n"
                           "|---|---|---|---|\n"))
    for title, items in (("Routes", diff.routes), ("Receivers", diff.receivers),
                         ("Inhibit rules", diff.inhibit_rules),
                         ("Time intervals", diff.time_intervals),
                         ("Reconciler", diff.reconciler)):
        blocks.extend(_section(title, _items(items)))
    return visible(_assemble(blocks, diff.files, limit))  # also printed to terminals


def failure(failures: Iterable[Failure], context: Context, *, limit: int = LIMIT) -> str:
    """Each side that does not compile, with its diagnostics as `converge check` shows them."""
    found = list(failures)
    parts = [f"### converge diff: {_side(context, 'base')} → {_side(context, 'head')}",
             ""]
    room = (limit - 1000) // max(1, len(found))
    for one in found:
        text = human.render(one.report)
        if len(text) > room:
            text = text[:room].rsplit("\n", 1)[0] + "\n… cut to fit one comment\n"
        fence = _fence(text)
        parts.extend([f"**Error: {failure_title(one)}**", "", f"{fence}text",
                      text.rstrip("\n"), fence, ""])
    return visible("\n".join(parts))


def code(text: str, *, table: bool = False) -> str:
    """An inline code span that survives backticks in `text` (and pipes, in a table cell,
    where GitHub splits cells before it reads code spans)."""
    text = text.replace("\n", " ")
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _side(context: Context, which: str) -> str:
    revision = context.base if which == "base" else context.head
    if revision.ref is None:
        return "work tree"
    shown = code(revision.ref)
    if revision.commit and not revision.commit.startswith(revision.ref):
        shown += f" ({code(revision.commit[:12])})"
    return shown


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall("`{3,}", text)), default=2)
    return "`" * (longest + 1)


def _section(title: str, entries: Iterable[str], header: str = "") -> list[str]:
    """The section's title and entries (one block each), the list cut after MAX_ITEMS."""
    found = list(entries)
    if not found:
        return []
    blocks = [f"\n#### {title}\n\n{header}"]
    blocks.extend(entry + "\n" for entry in found[:MAX_ITEMS])
    if len(found) > MAX_ITEMS:
        more = (f"… and {len(found) - MAX_ITEMS} more (`converge diff --format human` lists "
                "them all)")
        blocks.append(f"| {more} | | | |\n" if header else f"- {more}\n")
    return blocks


def _value(value: str | None) -> str:
    return "_unset_" if value is None else code(value)


def _fields(fields: Iterable[FieldChange], status: Status) -> Iterator[str]:
    for f in fields:
        note = f" _({f.note})_" if f.note else ""
        before, after = f.before or "", f.after or ""
        if status in (Status.ADDED, Status.REMOVED):  # the value the element has (had)
            shown = f.after if f.after is not None else f.before or ""
            yield f"  - {f.field}: {code(shown)}{note}"
        elif "\n" in before + after or len(before) + len(after) > 2 * _INLINE:
            if f.before is not None and f.after is not None:  # only the lines that differ
                lines = [("@@ … @@" if mark == "…" else f"{mark}{line}")
                         for mark, line in changed_lines(before, after)]
            else:
                lines = [f"-{line}" for line in before.splitlines()] if f.before is not None \
                    else []
                lines += [f"+{line}" for line in after.splitlines()] if f.after is not None \
                    else []
            body = "\n".join(lines)
            fence = _fence(body)
            yield f"  - {f.field}:{note}\n\n    {fence}diff\n" + "".join(
                f"    {line}\n" for line in lines) + f"    {fence}"
        else:
            yield f"  - {f.field}: {_value(f.before)} → {_value(f.after)}{note}"


def _rules(changes: Iterable[RuleChange]) -> Iterator[str]:
    for c in changes:
        title = code(c.name) + (f" {code(c.labels)}" if c.labels else "") + (
            f" ({c.tier})" if c.tier else "")
        kind = "" if c.kind == "alert" else "record "
        if c.status is Status.MOVED:
            where = f"moved from {code(c.from_group or '')} to {code(c.group)}"
        else:
            where = f"in {code(c.group)}: {_WORD[c.status]}"
        targets = f" ({', '.join(c.targets)})" if c.status is Status.ADDED else ""
        yield "\n".join([f"- {kind}{title} {where}{targets}", *_fields(c.fields, c.status)])


def _items(items: Iterable[ItemChange]) -> Iterator[str]:
    for item in items:
        yield "\n".join([f"- {item.kind} {code(item.name)}: {_WORD[item.status]}",
                         *_fields(item.fields, item.status)])


def _warnings(diff: BundleDiff) -> Iterator[str]:
    for d in diff.warnings:
        where = f"{d.path}:{d.span.line}" if d.span is not None else d.path
        yield f"- {code(where)}: {d.severity.value}[{code(d.code)}] {d.message}"


def _alerts(diff: BundleDiff) -> Iterator[str]:
    for alert in diff.alerts:
        title = code(alert.name, table=True) + (
            f" {code(alert.labels, table=True)}" if alert.labels else "") + (
            f" ({alert.tier})" if alert.tier else "")
        before = _receivers(alert.before, alert.after, "~~")
        after = _receivers(alert.after, alert.before, "**")
        yield f"| {title} | {code(alert.group, table=True)} | {before} | {after} |"


def _receivers(receivers: tuple[str, ...] | None, other: tuple[str, ...] | None,
               mark: str) -> str:
    """The receivers, those the other side lacks marked (struck out, or bold)."""
    if receivers is None:
        return "_no such alert_"
    shown = [f"{mark}{code(r, table=True)}{mark}" if other is not None and r not in other
             else code(r, table=True) for r in receivers]
    return ", ".join(shown) or "_no receiver_"


def _file_block(change: FileChange, room: int) -> str | None:
    """The file's collapsed diff, cut to `room` characters with a note; None: no room."""
    if room < _MIN_DIFF:
        return None
    found = files.unified(change)
    summary = (f"<details><summary><code>{html.escape(change.path)}</code> "
               f"{_WORD[change.status]} (+{found.added} −{found.removed})</summary>\n\n")
    fence = _fence(found.text)
    tail = f"{fence}\n\n</details>\n\n"
    whole = f"{summary}{fence}diff\n{found.text}{tail}"
    if len(whole) <= room:
        return whole
    kept_room = room - len(summary) - len(fence) - 5 - len(tail) - 120
    if kept_room < _MIN_DIFF:
        return None
    kept = found.text[:kept_room].rsplit("\n", 1)[0] + "\n"
    cut = found.text.count("\n") - kept.count("\n")
    return (f"{summary}{fence}diff\n{kept}{tail}"
            f"_… {cut} more lines of this diff cut to fit one comment._\n\n")


def _assemble(blocks: list[str], files: tuple[FileChange, ...], limit: int) -> str:
    """The blocks while they fit, then the file diffs while they fit, then the names of
    the files left out."""
    parts: list[str] = []
    size = 0
    for block in blocks:
        if size + len(block) > limit - 200:  # room for the note
            parts.append(_CUT)
            return _fit("".join(parts), limit)
        parts.append(block)
        size += len(block)
    if not files:
        return "".join(parts).rstrip("\n") + "\n"
    parts.append("\n#### Rendered files\n\n")
    size += len(parts[-1])
    omitted: list[FileChange] = []
    for change in files:
        found = None if omitted else _file_block(change, limit - size - 400)
        if found is None:
            omitted.append(change)
            continue
        parts.append(found)
        size += len(found)
    if omitted:
        names = ", ".join(code(c.path) for c in omitted)
        note = (f"\n_Diffs of {len(omitted)} more file(s) left out to fit one comment: "
                f"{names}_\n")
        if size + len(note) > limit:
            note = (f"\n_Diffs of {len(omitted)} more file(s) left out to fit one comment; "
                    "`converge diff --format human` shows them all._\n")
        parts.append(note)
    return _fit("".join(parts).rstrip("\n") + "\n", limit)


def _fit(text: str, limit: int) -> str:
    """`text`, cut at a line end with a note when longer than `limit`."""
    if len(text) <= limit:
        return text
    return text[:limit - len(_CUT)].rsplit("\n", 1)[0] + _CUT
