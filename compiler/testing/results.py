"""What `converge test` found: one `Result` per test, each failure at a spec position."""

from __future__ import annotations

import dataclasses

from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Origin

ROUTING_FAILED = "tests/routing-failed"
RULE_FAILED = "tests/rule-failed"


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """One way a test failed: where to point, what went wrong, and the evidence."""

    origin: Origin
    code: str
    message: str
    details: tuple[str, ...] = ()
    """Lines that explain it: expected and got, or why no rule applied."""
    on_key: bool = False
    """Point at the key of the mapping entry at `origin` rather than its value."""

    def diagnostic(self, *, details: bool = True) -> Diagnostic:
        """The failure as a positioned diagnostic, details on the lines after the message."""
        document = self.origin.document
        message = "\n".join((self.message, *self.details)) if details else self.message
        span = document.locate(self.origin.path, key=self.on_key)
        return Diagnostic(document.path, span, self.code, Severity.ERROR, message)


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """One test (a routing assertion or a rule test case) and its failures, if any."""

    kind: str
    """`routing` or `rules`."""
    name: str
    origin: Origin
    failures: tuple[Failure, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


def title(origin: Origin, name: str | None, owner: str) -> str:
    """How a test is named in output: its `name`, else `<owner> test N` (N from 1)."""
    if name:
        return name
    index = origin.path[-1]
    return f"{owner} test {index + 1 if isinstance(index, int) else index}"
