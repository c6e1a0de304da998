"""Suppression: `# converge:disable CODE` comments in spec files and the Project's list.

pint's `# pint disable …` and yamllint's `# yamllint disable-line` are the models. A
comment names codes (comma- or space-separated; `promql/*` names a family, `all` every
code) and covers:

- `# converge:disable-file CODE` anywhere: the whole file;
- `# converge:disable CODE` on a line of its own at column 0: the rest of that YAML
  document (a RuleGroup: the whole group; at the top of a file of one document: the
  file);
- `# converge:disable CODE` on an indented line of its own: the next line and the lines
  indented deeper below it (the rule, route or field it precedes);
- `# converge:disable CODE` at the end of a line: that line and the lines below it that
  are indented deeper.

The Project's `lint.disable` suppresses codes everywhere. Suppressed diagnostics are not
dropped: `converge check --format json` lists them under `suppressed`. Errors the target
would reject the output for (YAML, schema, PromQL and template syntax) are never hidden.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Iterable

from converge.compiler.diagnostics import Diagnostic

_COMMENT = re.compile(r"#\s*converge:(disable|disable-file)\s+([^#]*)")
UNSUPPRESSIBLE = ("yaml/*", "schema/*", "promql/syntax", "template/syntax")
"""Codes nothing hides: the target would reject the rendered file, or nothing else could
be checked."""

Ranges = list[tuple[int, int, tuple[str, ...]]]
"""(first line, last line, patterns), 1-based and inclusive."""


def apply(diagnostics: Iterable[Diagnostic], texts: dict[str, str], *,
          disabled: Collection[str] = ()) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """(kept, suppressed): the diagnostics the comments in `texts` and `disabled` hide."""
    ranges: dict[str, Ranges] = {}
    kept: list[Diagnostic] = []
    suppressed: list[Diagnostic] = []
    for diagnostic in diagnostics:
        if diagnostic.path not in ranges:
            ranges[diagnostic.path] = comment_ranges(texts.get(diagnostic.path, ""))
        line = diagnostic.span.line if diagnostic.span is not None else 0
        patterns = [*disabled, *(p for first, last, found in ranges[diagnostic.path]
                                 if first <= line <= last for p in found)]
        if _matches(diagnostic.code, patterns) and not _matches(diagnostic.code,
                                                                UNSUPPRESSIBLE):
            suppressed.append(diagnostic)
        else:
            kept.append(diagnostic)
    return kept, suppressed


def comment_ranges(text: str) -> Ranges:
    """Where each suppression comment of a file applies."""
    if "converge:disable" not in text:
        return []
    lines = text.splitlines()
    found: Ranges = []
    for index, line in enumerate(lines):
        comment = _COMMENT.search(line)
        if comment is None or not _is_comment(line, comment.start()):
            continue
        patterns = tuple(p for p in re.split(r"[,\s]+", comment[2].strip()) if p)
        own_line = not line[:comment.start()].strip()
        if comment[1] == "disable-file":
            found.append((1, len(lines), patterns))
        elif own_line and comment.start() == 0:
            end = next((i for i in range(index + 1, len(lines))
                        if lines[i].startswith("---")), len(lines))
            found.append((index + 1, end, patterns))
        else:
            start = index
            if own_line:
                start = next((i for i in range(index + 1, len(lines))
                              if lines[i].strip() and not lines[i].lstrip().startswith("#")),
                             index)
            found.append((start + 1, _block_end(lines, start) + 1, patterns))
    return found


def _block_end(lines: list[str], start: int) -> int:
    """The last line of the block that starts at `start`: lines indented deeper follow."""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(lines[i]) - len(lines[i].lstrip()) <= indent:
            break
        end = i
    return end


def _is_comment(line: str, position: int) -> bool:
    """Whether the `#` at `position` starts a comment (not inside a quoted value)."""
    before = line[:position]
    return before.count('"') % 2 == 0 and before.count("'") % 2 == 0 and (
        not before or before[-1].isspace())


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(p == "all" or fnmatch.fnmatchcase(code, p) for p in patterns)
