"""JSON Schemas of every kind, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, create_model

from specs.channel import ChannelSpec
from specs.common import API_VERSION, Metadata, Spec
from specs.kinds import SPEC_MODELS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _document_model(kind: str) -> type[Spec]:
    spec_type: Any = ChannelSpec if kind == "Channel" else SPEC_MODELS[kind]
    required_spec: Any = ... if kind != "Project" else None
    fields: dict[str, Any] = {
        "api_version": (Literal["converge/v1"], Field(alias="apiVersion")),
        "kind": (Literal[kind], ...),
        "metadata": (Metadata, ...),
        "spec": (spec_type, Field(default=required_spec)),
    }
    model: type[Spec] = create_model(kind, __base__=Spec, **fields)
    return model


def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one whole document of `kind`."""
    schema = _document_model(kind).model_json_schema(by_alias=True, mode="validation")
    return {"$schema": SCHEMA_DIALECT, "title": f"converge {kind}",
            "description": f"A {kind} document ({API_VERSION}).", **schema}


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
