"""SARIF 2.1.0, the format code-scanning tools read."""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from converge.compiler.codes import all_codes
from converge.compiler.formats.report import Report

_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _version() -> str:
    try:
        return metadata.version("converge-gitops")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def render(report: Report) -> str:
    """One SARIF run with a rule per known code and a result per diagnostic."""
    codes = all_codes()
    rules = [
        {
            "id": code.code,
            "name": code.code.replace("/", "-"),
            "shortDescription": {"text": code.summary},
            "fullDescription": {"text": code.doc},
            "defaultConfiguration": {"level": _LEVELS[code.severity.value]},
        }
        for code in codes.values()
    ]
    index = {code: i for i, code in enumerate(codes)}
    results: list[dict[str, Any]] = []
    for d in report.diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": _LEVELS[d.severity.value],
            "message": {"text": d.message + (f"\nhint: {d.hint}" if d.hint else "")},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": report.shown_path(d.path),
                                         "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": d.span.line, "startColumn": d.span.column,
                               "endLine": d.span.end_line, "endColumn": d.span.end_column},
                }
            }],
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "converge", "version": _version(), "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
