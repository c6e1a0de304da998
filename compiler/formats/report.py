"""What every format renders: the diagnostics, the root they are relative to, counts."""

from __future__ import annotations

import dataclasses
import posixpath

from converge.compiler.diagnostics import Diagnostic, Severity, count


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    diagnostics: list[Diagnostic]
    texts: dict[str, str]
    root: str
    """The PATH given on the command line, to show paths as the user can open them."""
    files: int
    suppressed: list[Diagnostic] = dataclasses.field(default_factory=list)
    """Diagnostics a suppression comment or the Project's `lint.disable` hides."""

    def shown_path(self, path: str) -> str:
        return path if self.root in ("", ".") else posixpath.join(self.root, path)

    def summary(self) -> dict[str, int]:
        return {
            "files": self.files,
            "errors": count(self.diagnostics, Severity.ERROR),
            "warnings": count(self.diagnostics, Severity.WARNING),
            "infos": count(self.diagnostics, Severity.INFO),
        }
