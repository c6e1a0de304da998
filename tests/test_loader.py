"""The loader keeps every position and turns every kind of bad YAML into a diagnostic."""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies as st

from converge.compiler import loader
from converge.compiler.diagnostics import Span


def test_values_are_typed_as_prometheus_reads_them() -> None:
    loaded = loader.load("a.yaml", b'a: [1, 2.5, yes, ~, 0x1f, "5", 1_000, .inf, 2024-01-01]\n')
    assert loaded.diagnostics == []
    assert loaded.documents[0].body == {
        "a": [1, 2.5, True, None, 31, "5", 1000, float("inf"), "2024-01-01"]}


def test_keys_are_always_strings() -> None:
    loaded = loader.load("a.yaml", b"on: 1\n200: ok\n")
    assert loaded.documents[0].body == {"on": 1, "200": "ok"}


def test_every_node_has_its_span() -> None:
    document = loader.load("a.yaml", b"spec:\n  rules:\n    - alert: A\n      expr: up\n"
                           ).documents[0]
    assert document.locate(("spec", "rules", 0, "expr")) == Span(4, 13, 4, 15)
    assert document.locate(("spec", "rules", 0, "expr"), key=True) == Span(4, 7, 4, 11)
    assert document.locate(("spec", "rules", 0, "missing")) == Span(3, 7, 3, 7)


def test_several_documents_per_file_keep_their_index() -> None:
    loaded = loader.load("a.yaml", b"a: 1\n---\nb: 2\n---\n# only a comment\n")
    assert [(d.index, d.body) for d in loaded.documents] == [(0, {"a": 1}), (1, {"b": 2})]


def test_merge_keys_merge_without_overriding() -> None:
    loaded = loader.load("a.yaml", b"x: &d {a: 1, b: 2}\ny:\n  <<: *d\n  b: 3\n")
    assert loaded.documents[0].body["y"] == {"a": 1, "b": 3}


def test_block_scalars_keep_their_text() -> None:
    loaded = loader.load("a.yaml", b"expr: |\n  sum(\n    x)\n")
    assert loaded.documents[0].body == {"expr": "sum(\n  x)\n"}


@pytest.mark.parametrize(
    ("data", "line", "column", "message"),
    [
        pytest.param(b"a: 1\na: 2\n", 2, 1, "duplicate key 'a' (first defined on line 1)",
                     id="duplicate-key"),
        pytest.param(b"a: [1,\n", 2, 1, "did not find expected node content", id="unclosed-flow"),
        pytest.param(b"a:\n\tb: 1\n", 2, 1, "found character that cannot start any token",
                     id="tab-indent"),
        pytest.param(b"a: b: c\n", 1, 5, "mapping values are not allowed", id="colon-in-value"),
        pytest.param(b"ok: 1\nbad: \xff\n", 2, 6, "not valid UTF-8", id="not-utf8"),
        pytest.param(b"a: \x01\n", 1, 4, "control characters are not allowed", id="control-char"),
        pytest.param(b"a: " + b"[" * 100 + b"]" * 100, 1, 67, "nested more than 64",
                     id="deep-nesting"),
        pytest.param(b"a: *nowhere\n", 1, 4, "nowhere", id="unknown-anchor"),
        pytest.param(b"? [a]\n: 1\n", 1, 3, "mapping key must be a plain value",
                     id="complex-key"),
        pytest.param(b"a: &a [1]\n" + b"".join(
            b"%c: &%c [" % (ord("b") + i, ord("b") + i) + b", ".join([b"*%c" % (ord("a") + i)] * 9)
            + b"]\n" for i in range(8)), 8, 8, "expand this document beyond", id="alias-bomb"),
    ],
)
def test_bad_yaml_is_a_positioned_diagnostic(data: bytes, line: int, column: int,
                                             message: str) -> None:
    loaded = loader.load("bad.yaml", data)
    assert loaded.diagnostics, "expected a diagnostic"
    first = loaded.diagnostics[0]
    assert first.code in ("yaml/parse", "yaml/duplicate-key")
    assert (first.line, first.column) == (line, column)
    assert message in first.message


def test_documents_before_a_syntax_error_are_kept() -> None:
    loaded = loader.load("a.yaml", b"a: 1\n---\nb: [\n")
    assert [d.body for d in loaded.documents] == [{"a": 1}]
    assert loaded.diagnostics[0].line == 4


def test_deep_nesting_far_beyond_the_c_stack_does_not_crash() -> None:
    loaded = loader.load("a.yaml", b"a: " + b"[" * 200_000 + b"]" * 200_000)
    assert loaded.diagnostics[0].code == "yaml/parse"


def test_offset_to_line_column() -> None:
    assert loader.offset_to_line_column("ab\ncd", 4) == (2, 2)
    assert loader.offset_to_line_column("ab\ncd", 0) == (1, 1)


def _scanned_line_column(text: str, offset: int) -> tuple[int, int]:
    """The scan the line index replaced: count the breaks before the offset."""
    offset = max(0, min(offset, len(text)))
    breaks = list(loader._LINE_BREAK.finditer(text, 0, offset))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, offset - line_start + 1


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(text=st.text(alphabet="ab \r\n\x85\u2028\u2029"), offset=st.integers(-2, 40))
def test_the_line_index_counts_lines_as_the_scan_did(text: str, offset: int) -> None:
    index = loader.LineIndex(text)
    assert index.line_column(offset) == _scanned_line_column(text, offset)
    assert len(index.starts) == len(index.lines) == len(loader.split_lines(text))
    for line, start in enumerate(index.starts, start=1):
        assert index.offset(line, 3) == start + 2
    assert index.offset(len(index.starts) + 1, 1) is None
