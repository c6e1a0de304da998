"""The field reference (docs/reference.md) is generated from the models and current, every
field has a description, and its rows show types, defaults and constraints correctly."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from converge import specs
from converge.specs import reference
from converge.specs.channel import CHANNEL_TYPES, ChannelBase
from converge.specs.common import Envelope
from converge.specs.jsonschema import kind_schema
from converge.specs.kinds import KINDS, SPEC_MODELS
from converge.specs.project import PrometheusTarget, TargetSpec
from converge.specs.rule_group import Rule

ROOT = Path(__file__).resolve().parent.parent
PAGE = reference.reference()
REGENERATE = f"docs/reference.md is stale: run `{reference.COMMAND}`"


def spec_models() -> Iterator[type[BaseModel]]:
    """Every model defined under `specs` (not imported ones twice)."""
    for info in pkgutil.iter_modules(specs.__path__):
        module = importlib.import_module(f"converge.specs.{info.name}")
        for _, model in inspect.getmembers(module, inspect.isclass):
            if issubclass(model, BaseModel) and model.__module__ == module.__name__:
                yield model


def _fields() -> Iterator[Any]:
    for model in spec_models():
        for name, field in model.model_fields.items():
            yield pytest.param(model, name, id=f"{model.__name__}.{field.alias or name}")


def _section(heading: str) -> str:
    """The text under a heading, up to the next heading."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#|\Z)", PAGE,
                      flags=re.MULTILINE | re.DOTALL)
    assert match, f"no section {heading!r} in the reference"
    return match.group(1)


def _cells(line: str) -> list[str]:
    """A table row's cells (a `\\|` inside a cell is not a separator)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _row(heading: str, key: str) -> dict[str, str]:
    """The row of `key` in the table under `heading`, by column name."""
    lines = [line for line in _section(heading).splitlines() if line.startswith("|")]
    header = _cells(lines[0])
    rows = [_cells(line) for line in lines[2:]]
    [row] = [row for row in rows if row[0] == f"`{key}`"]
    return dict(zip(header, row, strict=True))


# --- the page is current and complete ------------------------------------------------------

def test_committed_reference_is_current() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == PAGE, REGENERATE


def test_the_page_says_it_is_generated_and_links_the_guide() -> None:
    head = PAGE[:1000]
    assert f"by `{reference.COMMAND}`; do not edit by hand" in head
    assert "[specs.md](specs.md)" in head


@pytest.mark.parametrize(("model", "name"), list(_fields()))
def test_every_field_has_a_description(model: type[BaseModel], name: str) -> None:
    assert reference.description(model, name), (
        f"{model.__name__}.{name} has no description: write a docstring under the field")


@pytest.mark.parametrize("model", [m for m in spec_models() if m.model_fields],
                         ids=lambda m: m.__name__)
def test_every_model_has_a_docstring(model: type[BaseModel]) -> None:
    assert (model.__doc__ or "").strip(), f"{model.__name__} has no docstring"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_section(kind: str) -> None:
    document = _section(kind)
    assert _row(kind, "kind")["type"] == f"`{kind}`"
    assert _row(kind, "apiVersion")["type"] == "`converge/v1`"
    assert _row(kind, "metadata")["type"] == "[Metadata](#metadata)"
    if kind != "Channel":
        spec = SPEC_MODELS[kind].__name__
        assert _row(kind, "spec")["type"] == f"[{spec}](#{spec.lower()})"
    assert f"(specs.md#{reference.GUIDE[kind]})" in document


def _object_types() -> list[type[BaseModel]]:
    """Every model with fields users write; not bases (their fields are in each subclass's
    table) nor the envelope (each kind's document table)."""
    models = list(spec_models())
    bases = {base for model in models for base in model.__mro__[1:]}
    return [m for m in models if m.model_fields and m not in bases and m is not Envelope]


def test_bases_are_shown_in_their_subclasses() -> None:
    assert {ChannelBase, TargetSpec} <= set(spec_models()) - set(_object_types())


@pytest.mark.parametrize("model", _object_types(), ids=lambda m: m.__name__)
def test_every_object_type_has_a_table(model: type[BaseModel]) -> None:
    section = _section(model.__name__)
    for name, field in model.model_fields.items():
        assert _row(model.__name__, field.alias or name)["description"] == _cell(
            reference.description(model, name)), section


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def test_every_table_row_has_every_column() -> None:
    lines = PAGE.splitlines()
    width = 0
    for number, line in enumerate(lines, start=1):
        if number < len(lines) and lines[number].startswith("|---"):
            width = len(_cells(line))  # a header row
        if line.startswith("|"):
            assert len(_cells(line)) == width, f"line {number}: {line}"


def test_every_link_has_a_target() -> None:
    anchors = {reference.slug(h) for h in re.findall(r"^#+ (.+)$", PAGE, flags=re.MULTILINE)}
    assert set(re.findall(r"\]\(#([^)]+)\)", PAGE)) <= anchors
    guide = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    guide_anchors = {reference.slug(h) for h in re.findall(r"^#+ (.+)$", guide, re.MULTILINE)}
    assert set(re.findall(r"\]\(specs\.md#([^)]+)\)", PAGE)) <= guide_anchors
    assert "(reference.md)" in guide


# --- spot checks of rendered rows ------------------------------------------------------------

def test_a_default_a_duration_and_a_required_field() -> None:
    assert _row("Check", "interval") == {
        "key": "`interval`", "type": "[duration](#value-types)", "default": "`30s`",
        "constraints": "", "description": "Time between checks."}
    assert _row("HttpCheck", "port")["default"] == "**required**"
    assert _row("HttpCheck", "port")["constraints"] == "≥ 1; ≤ 65535"
    assert _row("Rule", "for")["default"] == "*unset*"


def test_defaults_are_yaml() -> None:
    assert _row("PrometheusTarget", "version")["default"] == '`"2.42"`'  # quoted: not a number
    assert _row("DingTalkChannel", "rateLimit")["default"] == "`{messages: 20, per: 1m}`"
    assert _row("RuleGroupSpec", "targets")["default"] == "`[prometheus, vmalert]`"
    assert _row("HttpCheck", "expectStatus")["default"] == "`[200]`"
    assert _row("Project", "spec")["default"] == "`{}`"
    assert _row("RuleGroup", "spec")["default"] == "**required**"


def test_enums_and_constraints() -> None:
    assert _row("Check", "type")["type"] == (
        "one of `state`, `docker-health`, `http`, `tcp`, `exec`")
    assert _row("RuleGroupSpec", "targets")["type"] == "list, each one of `prometheus`, `vmalert`"
    assert _row("ProjectSpec", "notifierURL")["constraints"] == "matches `^https?://`"
    assert _row("Scaling", "tolerance")["constraints"] == "≥ 0; < 1"
    assert _row("InhibitRule", "sourceMatchers")["constraints"] == "≥ 1 item; each item not empty"
    assert "\\|" in _row("TimeRange", "startTime")["constraints"]  # a pipe cannot end the cell


def test_nested_objects_are_links_with_their_paths() -> None:
    assert _row("RuleGroupSpec", "rules")["type"] == "list of [Rule](#rule)"
    assert _row("Thresholds", "critical")["type"] == "number or [Tier](#tier)"
    assert _row("WorkerPoolSpec", "env")["type"] == (
        "map of string → string or [secret](#value-types)")
    assert _row("SlackChannel", "apiUrl")["type"] == "[secret](#value-types)"
    assert "At `spec.route`, `spec.route.routes[]`." in _section("Route")
    assert "At `spec.tests[].alertRuleTests[].expAlerts[]`." in _section("ExpectedAlert")


def test_every_channel_type_is_a_variant_of_the_channel_spec() -> None:
    spec = _row("Channel", "spec")["type"]
    assert spec.startswith("chosen by `type`: ")
    for value, model in CHANNEL_TYPES.items():
        assert f"[`{value}`](#{model.__name__.lower()})" in spec
        assert _row(model.__name__, "type")["type"] == f"`{value}`"
        assert _row(model.__name__, "sendResolved")["default"] == "`true`"


# --- descriptions: where they come from and where they go --------------------------------------

def test_a_description_is_the_docstring_under_the_field_inherited_by_subclasses() -> None:
    assert reference.description(Rule, "alert").startswith("Alert name")
    assert reference.description(PrometheusTarget, "version") == reference.description(
        TargetSpec, "version")

    class Undocumented(BaseModel):
        documented: int = 0
        """Said."""
        bare: int = 0

    assert reference.description(Undocumented, "documented") == "Said."
    assert reference.description(Undocumented, "bare") == ""


def test_descriptions_reach_the_json_schema() -> None:
    schema = kind_schema("RuleGroup")
    assert schema["$defs"]["Rule"]["properties"]["alert"]["description"] == (
        reference.description(Rule, "alert"))
    assert schema["$defs"]["Rule"]["description"] == Rule.__doc__
    assert schema["properties"]["apiVersion"]["description"]


def test_main_prints_the_page_or_writes_it(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert reference.main([]) == 0
    assert capsys.readouterr().out == PAGE
    monkeypatch.setattr(reference, "PAGE", tmp_path / "reference.md")
    assert reference.main(["--write"]) == 0
    assert (tmp_path / "reference.md").read_text(encoding="utf-8") == PAGE
    assert reference.main(["--bogus"]) == 2
