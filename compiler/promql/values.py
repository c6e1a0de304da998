"""The values the package hands out: `ParseProblem` and `LabelSet`, with the label algebra.

They sit in a module of their own so that the offset search (`locate`), the dialect
handling (`problems`) and the label analysis (`labels`, `relabel`) can all build them
without importing one another.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Literal

_Dialect = Literal["prometheus", "metricsql"]


@dataclasses.dataclass(frozen=True, slots=True)
class ParseProblem:
    """Why an expression does not parse, and the 0-based character offset of the cause."""

    message: str
    offset: int


@dataclasses.dataclass(frozen=True, slots=True)
class LabelSet:
    """The labels an expression's result series may carry.

    If `any` is true a series may carry any label except those in `names`; otherwise it
    carries at most the labels in `names`. The metric name is not tracked.
    """

    any: bool
    names: frozenset[str]

    def may_have(self, label: str) -> bool:
        """Whether some result series may carry `label`."""
        return (label not in self.names) if self.any else (label in self.names)

    def union(self, other: LabelSet) -> LabelSet:
        """The labels of series that come from either side (as `a or b` does)."""
        if self.any and other.any:
            return LabelSet(True, self.names & other.names)
        if self.any:
            return LabelSet(True, self.names - other.names)
        if other.any:
            return LabelSet(True, other.names - self.names)
        return LabelSet(False, self.names | other.names)


_EMPTY = LabelSet(False, frozenset())
_ANY = LabelSet(True, frozenset())


def _restrict(labels: LabelSet, names: Collection[str]) -> LabelSet:
    """Keep only `names` (`by`, `on`)."""
    if labels.any:
        return LabelSet(False, frozenset(names) - labels.names)
    return LabelSet(False, labels.names & frozenset(names))


def _drop(labels: LabelSet, names: Collection[str]) -> LabelSet:
    """Remove `names` (`without`, `ignoring`)."""
    if not names:
        return labels
    if labels.any:
        return LabelSet(True, labels.names | frozenset(names))
    return LabelSet(False, labels.names - frozenset(names))


def _add(labels: LabelSet, names: Collection[str]) -> LabelSet:
    """Add `names` (`group_left(...)`, `label_replace`)."""
    if not names:
        return labels
    if labels.any:
        return LabelSet(True, labels.names - frozenset(names))
    return LabelSet(False, labels.names | frozenset(names))
