"""Property tests: whatever is done to a valid spec, converge answers with positioned
diagnostics, never a traceback, and exit code 1 for input that is certainly invalid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import valid_repo
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converge.compiler import pipeline
from converge.compiler.commands.main import main
from converge.compiler.sources import SourceFile

PROPERTY_SETTINGS = settings(max_examples=80, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])

# places that hold a model (unknown keys there are errors), as (document index, path)
MODEL_PLACES: list[tuple[int, tuple[Any, ...]]] = [
    (0, ()), (0, ("spec",)), (1, ("spec",)), (1, ("spec", "rules", 0)),
    (1, ("spec", "rules", 1)), (2, ("spec",)), (4, ("spec", "route")),
    (5, ("spec", "check")), (6, ("spec", "replicas")),
]
# required keys, deleting any one of which is certainly an error
REQUIRED: list[tuple[int, tuple[Any, ...]]] = [
    (1, ("apiVersion",)), (1, ("kind",)), (1, ("metadata",)), (2, ("metadata", "name")),
    (1, ("spec", "rules", 0, "expr")), (1, ("spec", "rules", 2, "alert")),
    (2, ("spec", "type")), (4, ("spec", "route")), (6, ("spec", "image")),
]
# typed fields and a value of a certainly wrong type for each
TYPED: list[tuple[int, tuple[Any, ...], Any]] = [
    (1, ("spec", "rules"), "not a list"), (1, ("spec", "rules", 0, "for"), ["5m"]),
    (1, ("spec", "rules", 0, "expr"), {"a": 1}), (1, ("spec", "interval"), "fast"),
    (5, ("spec", "failureThreshold"), "many"), (6, ("spec", "replicas", "max"), [1]),
    (4, ("spec", "route", "routes"), {"receiver": "ops"}), (0, ("spec", "targets"), 3),
    (2, ("spec", "url"), 42), (1, ("spec", "rules", 0, "labels"), ["a"]),
]


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _run(data: bytes) -> pipeline.CheckResult:
    # the conftest wrapper asserts every diagnostic is positioned inside its file
    return pipeline.check([SourceFile("specs.yaml", data)])


def _assert_invalid(result: pipeline.CheckResult) -> None:
    assert not result.ok, "expected at least one error"


keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
               min_size=1, max_size=20)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


def test_the_valid_repository_is_valid() -> None:
    result = _run(valid_repo.dump(valid_repo.documents()))
    assert result.diagnostics == []


@PROPERTY_SETTINGS
@given(place=st.sampled_from(MODEL_PLACES), key=keys, value=values)
def test_unknown_keys_are_errors(place: tuple[int, tuple[Any, ...]], key: str,
                                 value: Any) -> None:
    docs = valid_repo.documents()
    target = _get(docs[place[0]], place[1])
    if key in target:
        key = key + "_unknown"
    target[key] = value
    _assert_invalid(_run(valid_repo.dump(docs)))


@PROPERTY_SETTINGS
@given(place=st.sampled_from(REQUIRED))
def test_deleted_required_keys_are_errors(place: tuple[int, tuple[Any, ...]]) -> None:
    docs = valid_repo.documents()
    del _get(docs[place[0]], place[1][:-1])[place[1][-1]]
    _assert_invalid(_run(valid_repo.dump(docs)))


@PROPERTY_SETTINGS
@given(place=st.sampled_from(TYPED))
def test_wrong_types_are_errors(place: tuple[int, tuple[Any, ...], Any]) -> None:
    docs = valid_repo.documents()
    _get(docs[place[0]], place[1][:-1])[place[1][-1]] = place[2]
    _assert_invalid(_run(valid_repo.dump(docs)))


@PROPERTY_SETTINGS
@given(place=st.sampled_from(REQUIRED), new_key=keys)
def test_renamed_keys_are_errors(place: tuple[int, tuple[Any, ...]], new_key: str) -> None:
    docs = valid_repo.documents()
    parent = _get(docs[place[0]], place[1][:-1])
    old = place[1][-1]
    if new_key == old or new_key in parent:
        new_key = f"{new_key}_renamed"
    parent[new_key] = parent.pop(old)
    _assert_invalid(_run(valid_repo.dump(docs)))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_value_anywhere_never_crashes(data: st.DataObject) -> None:
    docs = valid_repo.documents()
    node: Any = docs
    path: list[Any] = []
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict)
                                        else list(range(len(node)))))
        path.append(key)
        node = node[key]
    if path:
        _get(docs, tuple(path[:-1]))[path[-1]] = data.draw(values)
    _run(valid_repo.dump(docs))


@PROPERTY_SETTINGS
@given(data=st.data(), garbage=st.binary(min_size=1, max_size=40))
def test_garbage_bytes_are_errors(data: st.DataObject, garbage: bytes) -> None:
    text = valid_repo.dump(valid_repo.documents())
    at = data.draw(st.integers(0, len(text)))
    control = data.draw(st.sampled_from([b"\x00", b"\x01", b"\x07", b"\x1b", b"\xff"]))
    _assert_invalid(_run(text[:at] + garbage + control + text[at:]))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_truncated_or_spliced_files_never_crash(data: st.DataObject) -> None:
    text = valid_repo.dump(valid_repo.documents())
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    where = data.draw(st.integers(0, len(text)))
    _run(text[:start] + text[end:])
    _run(text[:where] + text[start:end] + text[where:])


@settings(max_examples=20, deadline=None)
@given(depth=st.integers(65, 5000), flow=st.booleans())
def test_deep_nesting_is_an_error(depth: int, flow: bool) -> None:
    if flow:
        value = b"[" * depth + b"]" * depth
        body = b"apiVersion: converge/v1\nkind: Project\nmetadata: {name: a}\nspec: " + value
    else:
        body = b"".join(b"  " * i + b"k:\n" for i in range(depth))
    _assert_invalid(_run(body))


def test_a_huge_file_is_checked_without_trouble() -> None:
    docs = valid_repo.documents()
    rules = docs[1]["spec"]["rules"]
    for i in range(5000):
        rules.append({"record": f"job:x_{i}:sum", "expr": f'sum by (job) (x{{n="{i}"}})'})
    docs[1]["spec"]["rules"].append({"alert": "Broken", "expr": "sum(", "for": "1m"})
    result = _run(valid_repo.dump(docs))
    assert [d.code for d in result.diagnostics] == ["promql/syntax"]


@settings(max_examples=25, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=200))
def test_the_cli_never_shows_a_traceback(tmp_path_factory: Any, garbage: bytes) -> None:
    root: Path = tmp_path_factory.mktemp("repo")
    (root / "specs.yaml").write_bytes(valid_repo.dump(valid_repo.documents())[:300] + garbage)
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
