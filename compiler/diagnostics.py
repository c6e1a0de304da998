"""Diagnostics are values: every problem the compiler finds, with where it is.

Stages never raise for a bad spec; they yield `Diagnostic`s and go on, so one run reports
every problem at once. Exceptions are kept for bugs and I/O.
"""

from __future__ import annotations

import dataclasses
import enum


class Severity(enum.StrEnum):
    """How bad a problem is; only errors make `converge check` fail."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns are 1-based, the end is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int) -> Span:
        return cls(line, column, line, column + 1)


@dataclasses.dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem at one place in one spec file."""

    path: str
    span: Span
    code: str
    severity: Severity
    message: str
    hint: str = ""

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.span.line, self.span.column, self.code, self.message)


def count(diagnostics: list[Diagnostic], severity: Severity) -> int:
    """How many of the diagnostics have the given severity."""
    return sum(1 for d in diagnostics if d.severity is severity)
