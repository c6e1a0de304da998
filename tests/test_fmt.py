"""`fmt.format_text`: the canonical style, case by case, with comments in every position."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from converge.compiler import fmt
from converge.compiler.fmt import order

EXAMPLE = Path(__file__).resolve().parent.parent / "repo-example"


def _fmt(text: str) -> str:
    out = fmt.format_text(textwrap.dedent(text).lstrip("\n"))
    assert fmt.format_text(out) == out, "not idempotent"
    return out


def _expect(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_comments_in_every_position_travel_with_their_keys() -> None:
    source = """
        # Head of the file: stays at the top.

        kind: RuleGroup  # end of the kind line
        # Above metadata: moves with it.
        metadata:
            name: http  # end of a nested line
        spec:
            # Above rules: moves with them.
            rules:
            # Above the first rule.
            -   expr: up == 0   # the expression
                # Above alert, inside the rule.
                alert: Down
                for: 5m
                # After the last key of the rule: stays at its end.


            # Between two rules (the two blank lines above become one).
            -   record: job:up:sum
                expr: sum(up)
            # At the end of the rules.
            interval: 1m
        apiVersion: converge/v1
        # End of the document.
        """
    assert _fmt(source) == _expect("""
        # Head of the file: stays at the top.

        apiVersion: converge/v1
        kind: RuleGroup  # end of the kind line
        # Above metadata: moves with it.
        metadata:
          name: http  # end of a nested line
        spec:
          interval: 1m
          # Above rules: moves with them.
          rules:
            # Above the first rule.
            # Above alert, inside the rule.
            - alert: Down
              expr: up == 0  # the expression
              for: 5m
              # After the last key of the rule: stays at its end.

            # Between two rules (the two blank lines above become one).
            - record: job:up:sum
              expr: sum(up)
            # At the end of the rules.
        # End of the document.
        """)


def test_comment_above_the_first_item_key_goes_above_its_dash() -> None:
    source = """
        routes:
          -   # on the dash's line
            receiver: a
          - # also on a dash
            # and above the first key
            receiver: b  # beside it
        """
    assert _fmt(source) == _expect("""
        routes:
          - receiver: a  # on the dash's line
          # and above the first key
          # also on a dash
          - receiver: b  # beside it
        """)


def test_documents_keep_their_separators_and_comments() -> None:
    source = """
        # Before the first document.
        ---
        # Head of the first document.
        a: 1
        # End of the first document.
        ...
        ---   # on the marker
        b: 2
        """
    assert _fmt(source) == _expect("""
        # Before the first document.
        ---
        # Head of the first document.
        a: 1
        # End of the first document.
        ---
        # on the marker
        b: 2
        """)


def test_a_comment_inside_a_flow_collection_makes_it_a_block() -> None:
    source = """
        groupBy: [alertname,   # the alert
                  cluster]
        receivers: [a, b]  # stays a flow sequence
        labels: {team: web, tier: 1}
        """
    assert _fmt(source) == _expect("""
        groupBy:
          - alertname  # the alert
          - cluster
        receivers: [a, b]  # stays a flow sequence
        labels:
          team: web
          tier: 1
        """)


def test_layout_is_normalized() -> None:
    source = ("a:\r\n    b:    1   \r\n    c:\r\n    - x\r\n    -     y\r\n"
              "long: [" + ", ".join(f"item-{i}" for i in range(20)) + "]\r\n\r\n\r\n")
    assert fmt.format_text("\ufeff" + source) == (
        "a:\n  b: 1\n  c:\n    - x\n    - y\nlong:\n"
        + "".join(f"  - item-{i}\n" for i in range(20)))


@pytest.mark.parametrize(("written", "formatted"), [
    pytest.param('"plain"', "plain", id="needless-quotes"),
    pytest.param("'it''s'", "it's", id="apostrophe"),
    pytest.param('"2.42"', '"2.42"', id="number-like"),
    pytest.param("'yes'", '"yes"', id="boolean-like"),
    pytest.param("'1e3'", '"1e3"', id="float-in-yaml-1.2"),
    pytest.param('"18:00"', '"18:00"', id="sexagesimal"),
    pytest.param('"09:00"', '"09:00"', id="time"),
    pytest.param("''", '""', id="empty"),
    pytest.param("'~'", '"~"', id="null-like"),
    pytest.param("'a: b'", '"a: b"', id="colon-space"),
    pytest.param("'#x'", '"#x"', id="leading-hash"),
    pytest.param("'a #b'", '"a #b"', id="space-hash"),
    pytest.param('"[DB] down"', '"[DB] down"', id="leading-indicator"),
    pytest.param("'alertname=\"x\"'", 'alertname="x"', id="inner-quotes-plain"),
    pytest.param("'\"x\" is down'", "'\"x\" is down'", id="leading-quote-single"),
    pytest.param("'\"hi\" it''s'", '"\\"hi\\" it\'s"', id="both-quotes"),
    pytest.param('" padded "', '" padded "', id="padding"),
    pytest.param('"tab\\there"', '"tab\\there"', id="tab"),
    pytest.param('"bell\\a"', '"bell\\a"', id="control"),
    pytest.param("yes", "yes", id="plain-boolean-stays"),
    pytest.param("0x1F", "0x1F", id="plain-number-stays"),
    pytest.param("!!str 12", "!!str 12", id="tag"),
])
def test_one_quoting_rule(written: str, formatted: str) -> None:
    assert fmt.format_text(f"key: {written}\n") == f"key: {formatted}\n"


def test_multi_line_strings_become_literal_blocks() -> None:
    source = 'a: "first\\nsecond\\n"\nb: "no newline\\nat the end"\nc: "trailing \\nspace"\n'
    assert fmt.format_text(source) == _expect("""
        a: |
          first
          second
        b: |-
          no newline
          at the end
        c: "trailing \\nspace"
        """)


def test_folded_blocks_keep_their_lines() -> None:
    source = _expect("""
        description: >-
             A long sentence that wraps
             onto a second line.
        """)
    assert fmt.format_text(source) == _expect("""
        description: >-
          A long sentence that wraps
          onto a second line.
        """)


@pytest.mark.parametrize(("kind", "spec", "expected"), [
    pytest.param("RuleGroup", {"rules": "[]", "targets": "[vmalert]", "interval": "1m"},
                 ["interval", "targets", "rules"], id="rule-group"),
    pytest.param("Channel", {"template": "{}", "sendResolved": "false", "url": "x",
                             "type": "webhook"},
                 ["type", "url", "sendResolved", "template"], id="channel-own-fields-first"),
    pytest.param("Routing", {"timeIntervals": "[]", "inhibitRules": "[]", "route": "{}"},
                 ["route", "inhibitRules", "timeIntervals"], id="routing"),
    pytest.param("WorkerPool", {"zzz": "1", "replicas": "{}", "aaa": "2", "image": "x"},
                 ["image", "replicas", "zzz", "aaa"], id="unknown-keys-last-in-order"),
])
def test_keys_follow_the_models(kind: str, spec: dict[str, str], expected: list[str]) -> None:
    body = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    out = fmt.format_text(f"spec:\n{body}metadata:\n  name: x\nkind: {kind}\n"
                          "apiVersion: converge/v1\n")
    lines = out.splitlines()
    assert lines[:3] == ["apiVersion: converge/v1", f"kind: {kind}", "metadata:"]
    keys = [line.split(":")[0].strip() for line in lines[lines.index("spec:") + 1:]]
    assert keys == expected


def test_nested_models_are_ordered_and_free_mappings_are_not() -> None:
    source = _expect("""
        apiVersion: converge/v1
        kind: RuleGroup
        metadata: {labels: {z: 1, a: 2}, name: x}
        spec:
          rules:
            - thresholds: {critical: {for: 2m, value: 95}, warning: 80}
              labels: {zeta: a, alpha: b}
              expr: x > $threshold
              alert: X
        """)
    assert fmt.format_text(source) == _expect("""
        apiVersion: converge/v1
        kind: RuleGroup
        metadata:
          name: x
          labels:
            z: 1
            a: 2
        spec:
          rules:
            - alert: X
              expr: x > $threshold
              labels:
                zeta: a
                alpha: b
              thresholds:
                warning: 80
                critical:
                  value: 95
                  for: 2m
        """)


def test_field_order_is_read_from_the_models() -> None:
    fields = list(order.fields_of(order.SPEC_MODELS["RuleGroup"]))
    assert fields[:3] == ["name", "interval", "limit"] and "rules" in fields


def test_other_yaml_keeps_its_key_order() -> None:
    assert fmt.format_text("zeta: 1\nalpha: 2\n") == "zeta: 1\nalpha: 2\n"


def test_aliases_never_move_before_their_anchors() -> None:
    source = _expect("""
        spec:
          labels: &common {team: web}
        kind: X
        metadata:
          labels: *common
        """)
    out = fmt.format_text(source)
    assert out.index("&common") < out.index("*common")


@pytest.mark.parametrize(("text", "where", "code"), [
    pytest.param("a: 1\n  b: 2\n", (2, 4), "yaml/parse", id="syntax"),
    pytest.param("a: 1\na: 2\n", (2, 1), "yaml/duplicate-key", id="duplicate"),
    pytest.param("a:\n\t- b\n", (2, 1), "yaml/parse", id="tab"),
])
def test_unparsable_text_is_refused_with_a_position(text: str, where: tuple[int, int],
                                                     code: str) -> None:
    with pytest.raises(fmt.FormatError) as raised:
        fmt.format_text(text, path="x.yaml")
    first = raised.value.diagnostics[0]
    assert (first.path, (first.line, first.column), first.code) == ("x.yaml", where, code)


def test_a_change_of_meaning_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from converge.compiler.fmt import formatter

    monkeypatch.setattr(formatter.emit, "emit", lambda documents, head: "a: 2\n")
    with pytest.raises(fmt.MeaningChanged):
        fmt.format_text("a: 1\n")


@pytest.mark.parametrize("path", sorted(EXAMPLE.rglob("*.yaml")),
                         ids=lambda p: p.relative_to(EXAMPLE).as_posix())
def test_the_example_is_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert fmt.format_text(text) == text, "run `converge fmt repo-example`"


def test_empty_and_comment_only_files() -> None:
    assert fmt.format_text("") == ""
    assert fmt.format_text("\n\n") == ""
    assert fmt.format_text("# only\n\n\n# comments   \n\n") == "# only\n\n# comments\n"


@pytest.mark.parametrize("prefix", ["key: ", "- ", "- - ", "- key: "])
def test_a_flow_sequence_stays_on_its_line_up_to_100_columns(prefix: str) -> None:
    for width in (99, 100, 101):
        line = prefix + "[item, " + "x" * (width - len(prefix) - 8) + "]"
        assert len(line) == width
        out = _fmt(line + "\n")
        assert (out == line + "\n") is (width <= 100), out
