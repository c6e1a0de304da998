"""Property tests of `converge fmt`: formatting is idempotent, keeps every comment, and
never changes what a spec means (the compiled bundle's hash stays the same).

Inputs are written by `yaml_styles.Writer` in odd but valid styles: flow mappings,
quoted and block scalars, 1 to 4 spaces of indentation, indentless sequences, comments
above, beside and after entries, keys in shuffled order.
"""

from __future__ import annotations

import random
from typing import Any

import bundles
import valid_repo
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml_styles import Writer

from converge.compiler import loader
from converge.compiler.fmt import format_text, same
from converge.compiler.sources import SourceFile

_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs",))
_KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                min_size=1, max_size=8)
_TRICKY = st.sampled_from([
    "yes", "no", "on", "off", "y", "1e3", "0o17", "0x1F", "1_000", "+1", ".5", ".inf", "-.inf",
    "18:00", "09:00", "~", "null", "", "-", "- a", "a: b", "a #b", "#x", "&a", "*b", "!t", "|",
    ">", "%", "@", "`", "'q'", '"q"', "a\nb", "a\n", "\n", " lead", "trail ", "a\tb", "---",
    "...", "<<", "=", "a\n\n", "x\r\ny", "\x85", "\u2028", "\ufeff", "é", "🔥", "[a]", "{b}",
    "nbsp\xa0", "\u3000ideographic",
])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_infinity=True), st.text(_TEXT, max_size=20), _TRICKY)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)), max_leaves=20)

_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _assert_canonical(text: str, out: str, comments: list[str]) -> None:
    assert format_text(out) == out, f"not idempotent:\n{text}\n---- formatted:\n{out}"
    _assert_kept(text, out, comments)


def _assert_kept(text: str, out: str, comments: list[str]) -> None:
    for comment in comments:
        assert sum(line.strip().endswith(comment) for line in out.splitlines()) == 1, (
            f"{comment} lost or repeated:\n{text}\n---- formatted:\n{out}")
    assert all(line == line.rstrip() and "\t" not in line[:len(line) - len(line.lstrip())]
               for line in out.splitlines())
    assert not out or (out.endswith("\n") and not out.endswith("\n\n"))


def _bodies(text: str) -> list[Any]:
    loaded = loader.load("x.yaml", text.encode("utf-8"))
    assert not loaded.diagnostics
    return [d.body for d in loaded.documents]


@_SETTINGS
@given(st.lists(_VALUES, min_size=1, max_size=3), st.data())
def test_any_yaml_is_formatted_idempotently_without_loss(documents: list[Any],
                                                         data: st.DataObject) -> None:
    writer = Writer(data)
    text = writer.file(documents)
    out = format_text(text)
    _assert_canonical(text, out, writer.comments)
    assert same(_bodies(text), _bodies(out))


_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same value with the keys of every mapping in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@st.composite
def _spec_files(draw: st.DrawFn) -> tuple[list[list[Any]], random.Random]:
    """The valid example repository with some values changed and its documents spread
    over one to three files."""
    documents = valid_repo.documents()
    rule = documents[1]["spec"]["rules"][0]
    rule["annotations"]["description"] = draw(_NAMES.filter(lambda s: "{{" not in s))
    rule["labels"]["owner"] = draw(_NAMES)
    rule["thresholds"] = {"warning": draw(st.integers(1, 80)),
                          "critical": draw(st.sampled_from([90, 95.5, {"value": 99,
                                                                       "for": "2m"}]))}
    rule["for"] = draw(st.sampled_from(["5m", "1h30m", "90s", 0]))
    documents[0]["spec"]["externalLabels"]["note"] = draw(_TRICKY.filter(
        lambda s: "\r" not in s and "\x85" not in s and "\u2028" not in s))
    rng = random.Random(draw(st.integers(0, 2**32)))
    documents = [_shuffled(d, rng) for d in documents]
    files: list[list[Any]] = [[] for _ in range(draw(st.integers(1, 3)))]
    for document in documents:
        files[draw(st.integers(0, len(files) - 1))].append(document)
    return [f for f in files if f], rng


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_spec_files(), st.data())
def test_formatting_specs_never_changes_the_bundle(spread: tuple[list[list[Any]], Any],
                                                   data: st.DataObject) -> None:
    files, _ = spread
    writer = Writer(data)
    texts = {f"specs/{i}.yaml": writer.file(documents) for i, documents in enumerate(files)}
    formatted = {path: format_text(text) for path, text in texts.items()}
    for path, text in texts.items():
        assert format_text(formatted[path]) == formatted[path], text
    _assert_kept("".join(texts.values()), "".join(formatted.values()), writer.comments)
    before = bundles.build([SourceFile(p, t.encode("utf-8")) for p, t in texts.items()])
    after = bundles.build([SourceFile(p, t.encode("utf-8")) for p, t in formatted.items()])
    assert after.hash == before.hash
    for text in formatted.values():  # and the canonical envelope comes first
        for document in yaml.safe_load_all(text):
            assert list(document)[:4] == ["apiVersion", "kind", "metadata", "spec"]
