"""What every diff format prints besides the diff: which sides, and failures.

Also the small wording the text and Markdown formats share (counts, unset values), so
both read the same.
"""

from __future__ import annotations

import dataclasses

from converge.compiler.diff.changes import Counts, TargetSummary
from converge.compiler.formats.report import Report


@dataclasses.dataclass(frozen=True, slots=True)
class Revision:
    """One side as the user named it; no ref: the work tree."""

    ref: str | None
    commit: str | None

    @property
    def shown(self) -> str:
        if self.ref is None:
            return "work tree"
        if self.commit is None or self.commit.startswith(self.ref):
            return self.commit[:12] if self.commit else self.ref
        return f"{self.ref} ({self.commit[:12]})"


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    base: Revision
    head: Revision
    notes: tuple[str, ...] = ()
    """Said before the diff, e.g. that a side has no spec files."""


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """A side that does not compile, with its diagnostics."""

    side: str
    """"base" or "head"."""
    revision: Revision
    report: Report


def counts_text(counts: Counts) -> str:
    parts = [f"{n} {word}" for n, word in ((counts.added, "added"),
                                           (counts.removed, "removed"),
                                           (counts.changed, "changed")) if n]
    return ", ".join(parts)


def summary_text(summary: TargetSummary) -> str:
    """`files: 1 changed · rules: 2 added, 1 changed`, or `no change`."""
    parts = [f"{name}: {counts_text(c)}" for name, c in summary.counts if c]
    return " · ".join(parts) if parts else "no change"


def value_text(value: str | None) -> str:
    return "(unset)" if value is None else value


def failure_title(failure: Failure) -> str:
    """`the head does not compile (feature at 0a1b2c3d4e5f)`."""
    revision = failure.revision
    where = revision.shown
    if revision.ref is not None and revision.commit and not revision.commit.startswith(
            revision.ref):
        where = f"{revision.ref} at {revision.commit[:12]}"
    return f"the {failure.side} does not compile ({where})"
