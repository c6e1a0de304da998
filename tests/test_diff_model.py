"""The diff model, pure: two compiled sides in, a `BundleDiff` of values out."""

from __future__ import annotations

import dataclasses

import pytest
import valid_repo
from diff_cases import CASES, Docs, Mutation, changed, side

from converge.compiler import pipeline, render
from converge.compiler.diff import BundleDiff, compute, files, sides
from converge.compiler.diff import model as diff_model
from converge.compiler.diff.changes import AlertRouting, Counts, FieldChange, Status
from converge.compiler.diff.fields import nested_changes
from converge.compiler.diff.rules import tier_value
from converge.compiler.sources import SourceFile


def _diff(mutation: Mutation) -> BundleDiff:
    return compute(side(valid_repo.documents()), side(changed(mutation)))


def _counts(diff: BundleDiff, target: str) -> dict[str, Counts]:
    return dict(next(t for t in diff.targets if t.target == target).counts)


def test_the_same_specs_make_no_change() -> None:
    base = side(valid_repo.documents())
    diff = compute(base, side(valid_repo.documents()))
    assert not diff.changed
    assert diff.base_hash == diff.head_hash
    assert (diff.targets, diff.rules, diff.files) == ((), (), ())


def test_a_threshold_change_is_shown_as_one_and_folds_its_annotations() -> None:
    def mutation(docs: Docs) -> None:
        rule = docs[1]["spec"]["rules"][0]
        rule["thresholds"]["critical"] = 90
        rule["annotations"]["summary"] = "CPU on {{ $labels.instance }} above $threshold%"

    def base_mutation(docs: Docs) -> None:
        docs[1]["spec"]["rules"][0]["annotations"]["summary"] = (
            "CPU on {{ $labels.instance }} above $threshold%")

    diff = compute(side(changed(base_mutation)), side(changed(mutation)))
    [critical] = diff.rules
    assert (critical.title, critical.status) == ("HighCPU (critical)", Status.CHANGED)
    assert critical.fields == (FieldChange("threshold", "95", "90",
                                           "also in annotations summary"),)


def test_for_labels_and_annotations_are_fields() -> None:
    diff = _diff(lambda docs: docs[1]["spec"]["rules"][2].update(
        {"for": "3m", "labels": {"severity": "warning"}}))
    [down] = diff.rules
    assert down.fields == (FieldChange("for", "1m", "3m"),
                           FieldChange("label severity", "critical", "warning"))


def test_a_rule_moved_to_another_group_is_moved_not_added() -> None:
    diff = _diff(CASES[4].values[0])
    [moved] = diff.rules
    assert (moved.status, moved.from_group, moved.group) == (Status.MOVED, "system",
                                                              "availability")
    assert [(g.name, g.status) for g in diff.groups] == [("availability", Status.ADDED)]


def test_rules_sharing_a_name_in_one_group_pair_in_order() -> None:
    def two(docs: Docs) -> None:
        rules = docs[1]["spec"]["rules"]
        rules.append({**rules[2], "labels": {"severity": "critical", "zone": "b"}})

    def two_changed(docs: Docs) -> None:
        two(docs)
        docs[1]["spec"]["rules"][3]["for"] = "2m"

    diff = compute(side(changed(two)), side(changed(two_changed)))
    [down] = diff.rules
    assert down.fields == (FieldChange("for", "1m", "2m"),)


def test_per_target_counts_follow_the_targets_a_rule_is_rendered_for() -> None:
    diff = _diff(CASES[5].values[0])
    assert _counts(diff, "prometheus")["rules"] == Counts(removed=1)
    assert not _counts(diff, "vmalert")["rules"]


def test_routing_impact_follows_continue() -> None:
    diff = _diff(CASES[7].values[0])
    assert diff.alerts == (AlertRouting("HighCPU", "warning", "system", ("ops",),
                                        ("oncall",)),)


def test_routing_impact_lists_new_alerts_with_their_receivers() -> None:
    diff = _diff(CASES[3].values[0])
    assert diff.alerts == (AlertRouting("Flapping", None, "system", None, ("ops",)),)


def test_routing_impact_is_evaluated_for_every_alert_when_external_labels_change() -> None:
    diff = _diff(CASES[11].values[0])
    assert [(a.title, a.before, a.after) for a in diff.alerts] == [
        ("Down", ("oncall",), ("ops",)), ("HighCPU (critical)", ("oncall",), ("ops",))]


def test_reconciler_changes_show_secret_references_never_values() -> None:
    diff = _diff(CASES[9].values[0])
    fields = {(i.name, f.field): (f.before, f.after) for i in diff.reconciler
              for f in i.fields}
    assert fields[("oncall", "secret.env")] == ("DINGTALK_SECRET", "DINGTALK_SECRET_V2")


def test_files_hold_unified_diffs_without_the_manifest() -> None:
    diff = _diff(CASES[0].values[0])
    assert [f.path for f in diff.files] == ["prometheus/rules/system.yaml",
                                            "vmalert/rules/system.yaml"]
    found = files.unified(diff.files[0])
    assert found.text.startswith("--- a/prometheus/rules/system.yaml\n"
                                 "+++ b/prometheus/rules/system.yaml\n@@")
    assert (found.added, found.removed) == (3, 3)


def test_an_added_file_is_diffed_against_nothing() -> None:
    diff = _diff(CASES[4].values[0])
    added = next(f for f in diff.files if f.status is Status.ADDED)
    found = files.unified(added)
    assert found.text.startswith(f"--- /dev/null\n+++ b/{added.path}\n@@ -0,0 +1,")
    assert found.removed == 0


@pytest.mark.parametrize(("expr", "rendered", "value"), [
    pytest.param("x > $threshold", "x > 95", "95", id="one"),
    pytest.param("x > $threshold and y < $threshold", "x > 0.5 and y < 0.5", "0.5", id="two"),
    pytest.param("x > 1", "x > 1", None, id="no-placeholder"),
])
def test_tier_value(expr: str, rendered: str, value: str | None) -> None:
    result = pipeline.check([valid_repo.source()])
    assert result.model is not None
    rule = dataclasses.replace(result.model.groups[0].rules[0], raw_expr=expr, expr=rendered)
    assert tier_value(rule) == value


def test_nested_changes_name_fields_by_path() -> None:
    before = {"replicas": {"min": 1, "max": 5}, "metrics": [{"target": 1}], "env": ["a"]}
    after = {"replicas": {"min": 1, "max": 8}, "metrics": [{"target": 2}], "env": ["a", "b"]}
    assert nested_changes(before, after) == [
        FieldChange("env", "a", "a, b"), FieldChange("metrics[0].target", "1", "2"),
        FieldChange("replicas.max", "5", "8")]


@pytest.mark.parametrize("mutation", CASES)
def test_rendering_only_changed_groups_gives_the_full_render(mutation: Mutation) -> None:
    base_docs, head_docs = valid_repo.documents(), changed(mutation)
    base_sources = _split(base_docs)
    head_sources = _split(head_docs)
    base, head = sides.compile_pair(base_sources, head_sources)
    assert base.side is not None and head.side is not None and head.result.model is not None
    assert dict(head.side.files) == render.render(head.result.model)


def test_a_changed_project_renders_every_group_again() -> None:
    head_docs = valid_repo.documents()
    head_docs[0]["spec"]["defaults"]["labels"] = {"team": "platform"}
    base, head = sides.compile_pair(_split(valid_repo.documents()), _split(head_docs))
    assert base.side is not None and head.side is not None and head.result.model is not None
    assert dict(head.side.files) == render.render(head.result.model)
    path = "prometheus/rules/system.yaml"
    assert head.side.files[path] != base.side.files[path]


def test_identical_sides_are_compiled_once() -> None:
    sources = _split(valid_repo.documents())
    base, head = sides.compile_pair(sources, list(sources))
    assert base is head


def _split(docs: Docs) -> list[SourceFile]:
    """One file per document, so that most files are the same on both sides."""
    return [valid_repo.source([doc], f"{i}-{doc['kind'].lower()}.yaml")
            for i, doc in enumerate(docs)]


def test_the_package_exports_a_sorted_all() -> None:
    from converge.compiler import diff

    assert diff.__all__ == sorted(diff.__all__)
    assert all(hasattr(diff, name) for name in diff.__all__)


@pytest.mark.parametrize("mutation", CASES)
def test_groups_whose_files_are_alike_are_not_compared_rule_by_rule(
        mutation: Mutation, monkeypatch: pytest.MonkeyPatch) -> None:
    untouched = {"apiVersion": "converge/v1", "kind": "RuleGroup",
                 "metadata": {"name": "untouched"},
                 "spec": {"rules": [{"alert": "Other", "expr": "up == 0"}]}}
    base_docs, head_docs = valid_repo.documents(), changed(mutation)
    base_docs.append(untouched)
    head_docs.append(untouched)
    base, head = side(base_docs), side(head_docs)
    fast = compute(base, head)
    monkeypatch.setattr(diff_model, "_alike", lambda _base, _head: set())
    assert compute(base, head) == fast
