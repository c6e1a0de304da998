"""Every diagnostic code with its documentation, for `converge check --explain CODE`.

Codes found while reading and validating specs, and those of failing `converge test`
tests, are documented here; codes of the model checks are documented by their module's
docstring (`compiler/checks/`). Codes never change once released.
"""

from __future__ import annotations

import dataclasses
import inspect

from converge.compiler.checks import CHECKS
from converge.compiler.diagnostics import Severity


@dataclasses.dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    summary: str
    doc: str


_READING = [
    Code("yaml/parse", Severity.ERROR, "a file is not valid YAML (or not UTF-8)",
         "The file cannot be read as YAML: a syntax error, a tab used for indentation, "
         "bytes that are not UTF-8, control characters, anchors that are undefined or "
         "expand beyond two million nodes, or nesting deeper than 64 levels.\n\n"
         "Fix: correct the YAML at the position shown. Documents before the error in the "
         "same file are still checked."),
    Code("yaml/duplicate-key", Severity.ERROR, "a mapping has the same key twice",
         "YAML keeps only the last of two equal keys, silently dropping the first; "
         "Prometheus and Alertmanager reject such files.\n\nFix: remove or rename one."),
    Code("schema/unknown-field", Severity.ERROR, "a key the kind does not define",
         "Every kind rejects keys it does not know, so a typo never passes silently. "
         "Keys are camelCase (`groupBy`, `keepFiringFor`); the hint names the closest "
         "known key.\n\nFix: correct the key (see `converge schema` for every field)."),
    Code("schema/type", Severity.ERROR, "a value has the wrong type or an invalid value",
         "The value is not of the expected type (a string, number, list, mapping, one of "
         "a set of words) or the document is not a Kubernetes-shaped mapping with "
         "`apiVersion: converge/v1`, a known `kind`, `metadata` and `spec`. Note that YAML "
         "reads unquoted yes/no/on/off as booleans.\n\nFix: write a value of the type named."),
    Code("schema/missing", Severity.ERROR, "a required field is missing",
         "The kind requires this field (for example a rule's `expr`).\n\nFix: add it."),
    Code("schema/rule-kind", Severity.ERROR, "a rule is neither alert nor record, or mixes them",
         "A rule has exactly one of `alert` (an alerting rule) or `record` (a recording "
         "rule); recording rules cannot have `for`, `keepFiringFor`, `annotations` or "
         "`thresholds`.\n\nFix: keep one of `alert` or `record`."),
    Code("name/invalid", Severity.ERROR, "a metadata name is not a valid name",
         "`metadata.name` names rendered files and receivers: lower-case letters, digits "
         "and '-', at most 63 characters, starting and ending with a letter or digit.\n\n"
         "Fix: rename it, e.g. `system-resources`."),
]

_TESTING = [
    Code("tests/routing-failed", Severity.ERROR, "a routing test of `converge test` fails",
         "`converge test` evaluates every routing assertion (`tests:` in the Routing spec) on "
         "the compiled route tree and inhibit rules, those generated for tiered alerts "
         "included. The alert reaches other receivers than listed (or in another order), or "
         "is (or is not) inhibited while the other alert fires. The lines after the message "
         "show what was expected and what happened, and why each inhibit rule did not "
         "apply.\n\n"
         "Fix: correct the route tree or inhibit rules, or the assertion if it is wrong."),
    Code("tests/rule-failed", Severity.ERROR, "a rule test of `converge test` fails",
         "`converge test` runs every rule test case (`tests:` in a RuleGroup) with "
         "`promtool test rules` against the group's rendered Prometheus rule file. The "
         "alerts firing at `evalTime` (or the query result) differ from the expected ones; "
         "the lines after the message show both, as promtool reports them.\n\n"
         "Fix: correct the rule, or the test's input series or expectations."),
]


def all_codes() -> dict[str, Code]:
    """Every code, sorted, with its severity, summary and documentation."""
    codes = {code.code: code for code in (*_READING, *_TESTING)}
    for module in CHECKS:
        doc = inspect.cleandoc(module.__doc__ or "")
        title, _, body = doc.partition("\n\n")
        codes[module.CODE] = Code(module.CODE, module.SEVERITY, module.SUMMARY,
                                  f"{title}\n\n{body}".strip())
    return dict(sorted(codes.items()))


def markdown() -> str:
    """`docs/codes.md`: every code with its severity and documentation."""
    parts = ["# Diagnostic codes\n\n",
             "Generated from the code (`python -m converge.compiler.codes > docs/codes.md`); "
             "`converge check --explain CODE` prints the same text.\n\n",
             "| code | severity | summary |\n|---|---|---|\n"]
    codes = all_codes()
    parts += [f"| [`{c.code}`](#{c.code.replace('/', '')}) | {c.severity.value} | {c.summary} |\n"
              for c in codes.values()]
    for c in codes.values():
        parts.append(f"\n## {c.code}\n\n*{c.severity.value}* — {c.summary}\n\n{c.doc}\n")
    return "".join(parts)


if __name__ == "__main__":
    print(markdown(), end="")
