"""JSON Schemas of every kind, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import ast
import functools
import inspect
import json
import textwrap
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from converge.specs import (
    channel,
    common,
    healing_policy,
    project,
    routing,
    routing_tests,
    rule_group,
    rule_tests,
    worker_pool,
)
from converge.specs.channel import ChannelSpec
from converge.specs.common import API_VERSION, Metadata, Spec
from converge.specs.kinds import SPEC_MODELS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def document_model(kind: str) -> type[Spec]:
    """One whole document of `kind`: the envelope around the kind's spec.

    The spec may be left out (it is then `{}`) when its model has no required field, as
    `converge check` allows; a Channel's spec is the union of every channel type.
    """
    model_of_spec = SPEC_MODELS[kind]
    spec_type: Any = ChannelSpec if kind == "Channel" else model_of_spec
    optional = kind != "Channel" and not any(
        field.is_required() for field in model_of_spec.model_fields.values())
    spec_field: Any = (Field(default_factory=model_of_spec, description=f"The {kind}'s fields; "
                             "`{}` when left out.") if optional
                       else Field(description=f"The {kind}'s fields."))
    fields: dict[str, Any] = {
        "api_version": (Literal["converge/v1"], Field(
            alias="apiVersion", description="The spec language version; the only one there is.")),
        "kind": (Literal[kind], Field(description="What the document is; chooses its `spec`.")),
        "metadata": (Metadata, Field(description="The document's name, unique per kind, and "
                                                 "free labels.")),
        "spec": (spec_type, spec_field),
    }
    model: type[Spec] = create_model(kind, __base__=Spec, **fields)
    return model


def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one whole document of `kind`, field docstrings as descriptions."""
    schema = document_model(kind).model_json_schema(by_alias=True, mode="validation")
    for definition in schema.get("$defs", {}).values():
        _describe(definition)
    return {"$schema": SCHEMA_DIALECT, "title": f"converge {kind}",
            "description": f"A {kind} document ({API_VERSION}).", **schema}


def _describe(definition: dict[str, Any]) -> None:
    """Add each field's docstring (read from the source here, not at import) as description."""
    model = _models().get(definition.get("title", ""))
    if model is None:
        return
    docs = field_docstrings(model)
    for name, field in model.model_fields.items():
        prop = definition.get("properties", {}).get(field.alias or name)
        if prop is not None and name in docs:
            generic = prop.get("description")
            prop["description"] = f"{docs[name]} ({generic})" if generic else docs[name]


@functools.cache
def _models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (common, project, rule_group, rule_tests, channel, routing, routing_tests,
                   worker_pool, healing_policy):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found.setdefault(value.__name__, value)
    return found


@functools.cache
def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """Field name → its docstring (`name: type` followed by a string literal), for the model
    and its bases. Read from the source on demand: pydantic's `use_attribute_docstrings`
    would read it for every model at import, slowing every command's start."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for first, second in zip(body, body[1:], strict=False):
            if (isinstance(first, ast.AnnAssign) and isinstance(first.target, ast.Name)
                    and isinstance(second, ast.Expr) and isinstance(second.value, ast.Constant)
                    and isinstance(second.value.value, str)):
                docs[first.target.id] = inspect.cleandoc(second.value.value)
    return docs


def all_schemas() -> dict[str, str]:
    """File name → JSON text: one schema per kind plus `converge.json`, any kind at all."""
    files = {f"{kind}.json": _dump(kind_schema(kind)) for kind in SPEC_MODELS}
    files["converge.json"] = _dump({
        "$schema": SCHEMA_DIALECT,
        "title": "converge spec document",
        "description": "Any converge document; the kind is chosen by its `kind` field.",
        "oneOf": [{"$ref": f"{kind}.json"} for kind in SPEC_MODELS],
    })
    return files


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
