"""The rendered files that differ between the two sides, and their unified diffs.

The manifest is left out: it restates the other files' hashes, so it changes whenever
anything does and its diff says nothing the others do not.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from converge.compiler.bundle import MANIFEST
from converge.compiler.diff.changes import FileChange, Status, Unified

RULE_TARGETS = ("prometheus", "vmalert")


def rule_file(target: str, group: str) -> str:
    """Where a group's rule file for a target is in the bundle (see `render.rules`)."""
    return f"{target}/rules/{group}.yaml"


def compare(before: Mapping[str, str], after: Mapping[str, str]) -> list[FileChange]:
    """Every file added, removed or changed, by path, with its unified diff."""
    found = []
    for path in sorted((before.keys() | after.keys()) - {MANIFEST}):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        status = (Status.ADDED if old is None else Status.REMOVED if new is None
                  else Status.CHANGED)
        found.append(FileChange(path, status, old, new))
    return found


def unified(change: FileChange) -> Unified:
    """The file's unified diff (`a/PATH`, `b/PATH`, three lines of context)."""
    lines = list(difflib.unified_diff(
        (change.before or "").splitlines(keepends=True),
        (change.after or "").splitlines(keepends=True),
        fromfile="/dev/null" if change.before is None else f"a/{change.path}",
        tofile="/dev/null" if change.after is None else f"b/{change.path}"))
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
    added = sum(1 for line in lines[2:] if line.startswith("+"))
    removed = sum(1 for line in lines[2:] if line.startswith("-"))
    return Unified(text, added, removed)
