"""What `converge diff` prints: every section in Markdown, text and JSON (snapshots), the
comment size limit, and a side that does not compile."""

from __future__ import annotations

import json
import re

import pytest
import valid_repo
from diff_cases import CASES, CONTEXT, Mutation, changed, side
from syrupy.assertion import SnapshotAssertion

from converge.compiler import pipeline
from converge.compiler.diff import BundleDiff, Failure, compute, json_format, markdown, text
from converge.compiler.formats.report import Report

FORMATS = {"markdown": markdown.render, "text": text.render, "json": json_format.render}


def _diff(mutation: Mutation) -> BundleDiff:
    return compute(side(valid_repo.documents()), side(changed(mutation)))


@pytest.mark.parametrize("output_format", list(FORMATS))
@pytest.mark.parametrize("mutation", CASES)
def test_each_section(mutation: Mutation, output_format: str,
                      snapshot: SnapshotAssertion) -> None:
    assert FORMATS[output_format](_diff(mutation), CONTEXT) == snapshot


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_no_change(output_format: str, snapshot: SnapshotAssertion) -> None:
    diff = compute(side(valid_repo.documents()), side(valid_repo.documents()))
    assert FORMATS[output_format](diff, CONTEXT) == snapshot


def test_json_carries_every_section() -> None:
    document = json.loads(json_format.render(_diff(CASES[7].values[0]), CONTEXT))
    assert document["changed"] is True
    assert document["routing"]["alerts"] == [
        {"name": "HighCPU", "tier": "warning", "group": "system", "before": ["ops"],
         "after": ["oncall"]}]
    assert [f["path"] for f in document["files"]] == ["alertmanager/alertmanager.yaml"]


def _many_rules(count: int) -> Mutation:
    def mutation(docs: list[dict[str, object]]) -> None:
        rules = docs[1]["spec"]["rules"]  # type: ignore[index]
        for i in range(count):
            rules.append({"alert": f"Generated{i:04d}", "expr": f"up{{job=\"job-{i}\"}} == 0",
                          "labels": {"severity": "warning"},
                          "annotations": {"summary": "x" * 200}})
    return mutation


@pytest.mark.parametrize("limit", [4_000, 20_000, markdown.LIMIT])
def test_markdown_fits_one_comment(limit: int) -> None:
    found = markdown.render(_diff(_many_rules(400)), CONTEXT, limit=limit)
    assert len(found) <= limit <= markdown.COMMENT_LIMIT
    assert found.startswith("### converge diff: ")
    fences = [line for line in found.splitlines() if re.fullmatch(r"\s*`{3,}\w*", line)]
    assert len(fences) % 2 == 0, "a code block is left open"
    assert found.count("<details>") == found.count("</details>")
    assert "cut" in found or "left out" in found


def test_markdown_cuts_long_lists() -> None:
    found = markdown.render(_diff(_many_rules(150)), CONTEXT, limit=10**7)
    assert "… and 50 more" in found


@pytest.mark.parametrize(("value", "table", "shown"), [
    pytest.param("plain", False, "`plain`", id="plain"),
    pytest.param("a`b", False, "`` a`b ``", id="backtick"),
    pytest.param("a|b", False, "`a|b`", id="pipe"),
    pytest.param("a|b", True, "`a\\|b`", id="pipe-in-a-table"),
    pytest.param("two\nlines", False, "`two lines`", id="newline"),
])
def test_inline_code(value: str, table: bool, shown: str) -> None:
    assert markdown.code(value, table=table) == shown


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_a_side_that_does_not_compile(output_format: str, snapshot: SnapshotAssertion) -> None:
    docs = valid_repo.documents()
    docs[1]["spec"]["rules"][2]["expr"] = "sum(up"
    result = pipeline.check([valid_repo.source(docs)])
    assert not result.ok
    report = Report(result.diagnostics, result.texts, "repo", result.files)
    failure = {"markdown": markdown.failure, "text": text.failure,
               "json": json_format.failure}[output_format]
    assert failure([Failure("head", CONTEXT.head, report)], CONTEXT) == snapshot
