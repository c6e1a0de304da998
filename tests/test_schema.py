"""The committed JSON Schemas are current and accept the example repository."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from referencing import Registry, Resource

from converge.compiler import loader, sources
from converge.compiler.commands.main import main
from converge.specs import jsonschema as converge_schema

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "specs" / "schema"
EXAMPLE = Path(__file__).resolve().parent.parent / "repo-example"


def test_committed_schemas_are_current() -> None:
    expected = converge_schema.all_schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")
                 if p.name != "manifest.json"}  # the bundle's schema is written by hand
    assert committed == expected, "specs/schema is stale: run `converge schema -o specs/schema`"


def test_schema_command_writes_every_kind(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["schema", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(converge_schema.all_schemas())


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": "converge.json"}, registry=_registry())


def _registry() -> Registry:
    resources = [(name, Resource.from_contents(json.loads(text)))
                 for name, text in converge_schema.all_schemas().items()]
    return Registry().with_resources(resources)


def _example_documents() -> list[loader.Document]:
    files = sources.read_directory(EXAMPLE)
    return [d for f in files for d in loader.load(f.path, f.data).documents]


@pytest.mark.parametrize("document", _example_documents(),
                         ids=lambda d: f"{d.path}#{d.index}")
def test_example_documents_match_the_schema(document: loader.Document) -> None:
    errors = sorted(_validator().iter_errors(document.body), key=str)
    assert not errors, errors[0].message


def test_schema_rejects_an_unknown_field() -> None:
    validator = jsonschema.Draft202012Validator(
        json.loads(converge_schema.all_schemas()["RuleGroup.json"]))
    document = {"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "a"},
                "spec": {"rules": [{"alert": "A", "expr": "up == 0", "fro": "5m"}]}}
    assert not validator.is_valid(document)
