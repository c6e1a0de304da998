"""Property tests: any string from a spec survives render → `yaml.safe_load` unchanged.

Two levels. Directly: `quote`, `block` and the `comment` filter put inside a tiny YAML
document, at many examples. End to end: a spec dumped with `yaml.safe_dump`, checked by
`compiler.pipeline.check`, rendered, and the rendered files loaded back, at fewer. And
the template environment refuses to output anything that did not pass through `q`,
`block` or `ident`.
"""

from __future__ import annotations

import math
from typing import Any

import bundles
import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from converge.compiler import loader, pipeline, render
from converge.compiler.render import environment, yamlsafe
from converge.compiler.sources import SourceFile

NASTY = ["'", '"', ":", ": ", " #", "#", "\n", "\r", "\r\n", "\t", "{{", "}}", "{{ $value }}",
         "\\", "- ", "? ", "|", ">", "&a", "*a", "!t", "%", "@", "`", ",", "[", "]", "{", "}",
         " ", "  ", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\xa0", "\u2028", "\u2029",
         "\ufeff", "\ufffe", "\uffff", "\ufffd", "\u3000", "\U0001f600", "\U0010ffff",
         "---", "...", "~", "null", "true", "no", "0x1F", "1e3", ".inf", "é", "あ", "\u202e"]
"""Pieces that mean something to YAML, Jinja or a reader, to be strung together."""

_ANY_CHAR = st.characters(codec="utf-8", exclude_categories=["Cs"])
"""Any character a UTF-8 spec file can hold (lone surrogates cannot be encoded)."""

strings = st.one_of(
    st.lists(st.sampled_from(NASTY) | st.sampled_from("ab0 "), max_size=24).map("".join),
    st.text(_ANY_CHAR, max_size=40),
    st.lists(st.text(_ANY_CHAR, max_size=6), max_size=6).map("\n".join),
)

CASES = [
    pytest.param("", id="empty"),
    pytest.param(" leading and trailing ", id="spaces"),
    pytest.param("\nleading and trailing newlines\n\n", id="newlines"),
    pytest.param("\n  first content line indented", id="empty-line-then-indented"),
    pytest.param("\n\n    deeper\nback", id="empty-lines-then-indented"),
    pytest.param("line\u2028separator\nnext", id="line-separator-in-block"),
    pytest.param("paragraph\u2029separator\nnext", id="paragraph-separator-in-block"),
    pytest.param("next\x85line\nnext", id="nel-in-block"),
    pytest.param("\ufeffbom first\nsecond", id="bom"),
    pytest.param("tab\tinside\n\tand leading", id="tabs"),
    pytest.param("a: b\n- c\n# d\n{{ e }}", id="yaml-looking-lines"),
    pytest.param("sum(rate(x[5m]))\n  > 0.5\nand on() vector(1)\n", id="promql"),
    pytest.param("windows\r\nline end", id="crlf"),
    pytest.param("only\n\n\n", id="many-trailing-newlines"),
    pytest.param("a\n \nb", id="whitespace-only-line"),
    pytest.param("\U0001f600 astral \U0010ffff\nplane", id="astral"),
    pytest.param("\x00\x01\x1f\x7f\x9f", id="control-characters"),
]


def _document(scalar: str, *, indent: int) -> str:
    """`scalar` as the value of a key at `indent - 2` (a block's lines go at `indent`), the
    way the rules template places `expr`: in a list item, with a sibling before and after."""
    pad = " " * (indent - 2)
    return f"{pad[:-2]}- before: 1\n{pad}value: {scalar}\n{pad}after: 2\n"


def _assert_survives(value: str, scalar: str, *, indent: int) -> None:
    loaded = yaml.safe_load(_document(scalar, indent=indent))
    assert loaded == [{"before": 1, "value": value, "after": 2}], scalar


@pytest.mark.parametrize("value", CASES)
@pytest.mark.parametrize("render_with", [pytest.param("quote", id="quote"),
                                         pytest.param("block", id="block")])
def test_nasty_strings_survive(value: str, render_with: str) -> None:
    for indent in (4, 6, 10, 12):
        scalar = (yamlsafe.quote(value) if render_with == "quote"
                  else yamlsafe.block(value, indent))
        _assert_survives(value, scalar, indent=indent)


@pytest.mark.parametrize(("value", "literal"), [
    pytest.param("a\nb", True, id="two-lines"),
    pytest.param("sum(x)\n  > 1\n", True, id="expression-with-trailing-newline"),
    pytest.param("x\n\n", True, id="kept-trailing-newlines"),
    pytest.param("one line", False, id="one-line"),
    pytest.param("\n  indented first content line", False, id="indented-after-empty-line"),
    pytest.param("a\u2028b\nc", False, id="line-separator"),
    pytest.param("a\r\nb", False, id="carriage-return"),
    pytest.param("a\n\tb", False, id="tab-indented-line"),
])
def test_block_uses_a_literal_block_only_where_it_is_exact(value: str, literal: bool) -> None:
    assert yamlsafe.block(value, 4).startswith("|") is literal


@settings(max_examples=1500, deadline=None)
@given(value=strings, indent=st.integers(min_value=4, max_value=16))
def test_quote_survives_a_load(value: str, indent: int) -> None:
    _assert_survives(value, yamlsafe.quote(value), indent=indent)


@settings(max_examples=800, deadline=None)
@given(value=strings)
def test_a_quoted_key_survives_a_load(value: str) -> None:
    assert yaml.safe_load(f"{yamlsafe.quote(value)}: {yamlsafe.quote(value)}\n") == {
        value: value}


@settings(max_examples=2000, deadline=None)
@given(value=strings, indent=st.integers(min_value=4, max_value=16))
@example(value="\n  x", indent=4)
@example(value="a\n\u2028", indent=4)
def test_block_survives_a_load(value: str, indent: int) -> None:
    _assert_survives(value, yamlsafe.block(value, indent), indent=indent)


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(st.none(), st.booleans(), st.integers(),
                       st.floats(allow_nan=True, allow_infinity=True)))
@example(value=1e16)
@example(value=-2.5e-7)
def test_non_string_scalars_survive_a_load(value: Any) -> None:
    loaded = yaml.safe_load(f"value: {yamlsafe.quote(value)}\n")["value"]
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(loaded)
    else:
        assert loaded == value and type(loaded) is type(value)


@settings(max_examples=800, deadline=None)
@given(value=strings)
@example(value="a\x07b")
def test_a_comment_never_escapes_its_line(value: str) -> None:
    comment = environment.environment().filters["comment"](value)
    assert yaml.safe_load(f"# Source: {comment}\nkey: 1\n") == {"key": 1}


# --- end to end: spec → check → render → load ----------------------------------------

E2E_SETTINGS = settings(max_examples=120, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])


def _spec(name: str, label: str, annotation: str, expr: str, header: str,
          text: str) -> bytes:
    docs = [
        bundles.project(),
        bundles.document("RuleGroup", "g", {"rules": [
            {"alert": name, "expr": expr, "labels": {"l": label},
             "annotations": {"a": annotation}}]}),
        bundles.document("Channel", "mail", {
            "type": "email", "to": [text], "from": "am@example.com",
            "smarthost": "smtp.example.com:25", "headers": {header: text}}),
        bundles.document("Channel", "chat", {"type": "slack", "apiUrl": {"env": "SLACK"},
                                             "channel": text, "username": name}),
        bundles.document("Routing", "main", {"route": {
            "receiver": "mail", "routes": [{"receiver": "chat"}]}}),
    ]
    # every scalar double-quoted: converge reads plain scalars as go-yaml does (`1e3` is a
    # number there, a string to PyYAML), and the strings under test must stay strings
    data = yaml.safe_dump_all(docs, sort_keys=False, default_style='"').encode("utf-8")
    loaded = loader.load("specs.yaml", data)
    assert [d.body for d in loaded.documents] == docs  # the spec says what we mean
    return data


@E2E_SETTINGS
@given(name=strings.filter(bool), label=strings, annotation=strings,
       expr=strings.filter(bool), header=strings.filter(bool), text=strings)
@example(name="\n  Hot", label="a\u2028b\nc", annotation="\x85\n  x", expr="up\n  == 0",
         header="Reply-To", text="#c: {{ x }}")
@example(name="0", label="yes", annotation="0o17", expr="1e3", header="on", text="~")
def test_any_string_survives_check_render_load(name: str, label: str, annotation: str,
                                               expr: str, header: str, text: str) -> None:
    # the conftest wrapper also asserts that every diagnostic is positioned
    result = pipeline.check([SourceFile("specs.yaml", _spec(name, label, annotation, expr,
                                                            header, text))])
    assert result.model is not None and len(result.model.groups) == 1
    files = render.render(result.model)
    for target in ("prometheus", "vmalert"):
        (rule,) = yaml.safe_load(files[f"{target}/rules/g.yaml"])["groups"][0]["rules"]
        assert (rule["alert"], rule["expr"], rule["labels"]["l"],
                rule["annotations"]["a"]) == (name, expr, label, annotation)
    receivers = {r["name"]: r for r in yaml.safe_load(files["alertmanager/alertmanager.yaml"])[
        "receivers"]}
    (mail,) = receivers["mail"]["email_configs"]
    assert (mail["to"], mail["headers"]) == (text, {header: text})
    (chat,) = receivers["chat"]["slack_configs"]
    assert (chat["channel"], chat["username"]) == (text, name)


# --- the environment refuses unescaped output ----------------------------------------

REFUSED = [
    pytest.param("{{ v }}", "plain text", id="string"),
    pytest.param("{{ v }}", 3, id="number"),
    pytest.param("{{ v }}", None, id="none"),
    pytest.param("{{ v }}", ["a"], id="list"),
    pytest.param("{{ v }}", {"a": 1}, id="mapping"),
    pytest.param("{{ 'a literal' }}", None, id="literal"),
    pytest.param("{{ v | q | upper }}", "x", id="quoted-then-changed"),
    pytest.param("{{ (v | q) ~ 'tail' }}", "x", id="quoted-then-concatenated"),
    pytest.param("{{ (v | q) + v }}", "x", id="quoted-plus-raw"),
    pytest.param("{{ v | block(2) | replace('a', 'b') }}", "a\nb", id="block-then-changed"),
    pytest.param("{{ v | string }}", "x", id="string-filter"),
    pytest.param("{{ v[0] }}", ["x"], id="item"),
]


@pytest.mark.parametrize(("source", "value"), REFUSED)
def test_the_environment_refuses_unescaped_output(source: str, value: Any) -> None:
    template = environment.environment().from_string(source)
    with pytest.raises(TypeError, match="did not pass through q, block or ident"):
        template.render(v=value)


@pytest.mark.parametrize(("source", "value", "expected"), [
    pytest.param("k: {{ v | q }}", 'a "b"\n', 'k: "a \\"b\\"\\n"', id="q"),
    pytest.param("k: {{ v | block(2) }}", "a\nb", "k: |-\n  a\n  b", id="block"),
    pytest.param("{{ v | ident }}: 1", "send_resolved", "send_resolved: 1", id="ident"),
    pytest.param("k: {{ v | q }}", 7, "k: 7", id="q-number"),
])
def test_the_environment_outputs_escaped_values(source: str, value: Any,
                                                expected: str) -> None:
    assert environment.environment().from_string(source).render(v=value) == expected


@pytest.mark.parametrize("value", [
    pytest.param("Reply-To", id="dash"), pytest.param("a b", id="space"),
    pytest.param("x: y", id="colon"), pytest.param("", id="empty"),
])
def test_ident_refuses_anything_but_an_identifier(value: str) -> None:
    with pytest.raises(ValueError, match="not an identifier"):
        environment.environment().from_string("{{ v | ident }}").render(v=value)


def test_undefined_names_are_errors() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment.environment().from_string("{{ missing | q }}").render()
