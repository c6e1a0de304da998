"""Validate each loaded document against its kind's model, reporting at the spec's position.

Pydantic collects every error of a document; each is mapped back from its `loc` to the
span of the key or value it concerns, with a stable code and, for unknown keys, a
"did you mean" hint. A rule group with some broken rules keeps its other rules, so one
bad rule never hides the checks of the rest.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Iterator
from typing import Any

import pydantic
from pydantic.alias_generators import to_camel

from converge.compiler.diagnostics import Diagnostic, Severity, Span
from converge.compiler.loader import Document, Path
from converge.specs.channel import CHANNEL_TYPES
from converge.specs.common import API_VERSION, Metadata
from converge.specs.kinds import KINDS, SPEC_MODELS

_ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec")

_CUSTOM_CODES = {
    "duration_invalid": "duration/invalid",
    "label_invalid_name": "label/invalid-name",
    "secret_literal": "secret/literal",
    "name_invalid": "name/invalid",
    "rule_kind": "schema/rule-kind",
    "webhook_url": "schema/missing",
    "check_settings": "schema/missing",
    "header_value": "schema/missing",
    "tier_severity": "schema/type",
    "routing_test": "schema/missing",
}
_SECRET_HINT = (
    "write `{env: NAME}` to read it from an environment variable, or `{file: PATH}` to read "
    "it from a file, on the host that delivers the notification"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Resource:
    """A validated document: its kind, name, spec model and where it came from."""

    kind: str
    name: str
    metadata: Metadata
    spec: Any
    document: Document
    rule_indexes: tuple[int, ...] | None = None
    """For a rule group that lost broken rules: the source index of each kept rule."""

    def source_path(self, *loc: str | int) -> Path:
        """The document path of a spec location (`spec.` prefixed, rule indexes mapped)."""
        if self.rule_indexes is not None and len(loc) >= 2 and loc[0] == "rules":
            index = loc[1]
            assert isinstance(index, int)
            loc = ("rules", self.rule_indexes[index], *loc[2:])
        return ("spec", *loc)


@dataclasses.dataclass(slots=True)
class Validated:
    resources: list[Resource]
    diagnostics: list[Diagnostic]
    broken: dict[str, set[str]]
    """Names per kind of documents that failed validation (references to them resolve)."""


def validate(documents: Iterable[Document],
             cache: dict[Document, Validated] | None = None) -> Validated:
    """Validate every document; return the valid resources and all diagnostics.

    `cache`: each document's own outcome, kept across calls that pass the same document
    objects (`converge diff` validates the files both sides share once). A document's
    outcome depends on nothing but the document, so the result is the same.
    """
    result = Validated([], [], {kind: set() for kind in KINDS})
    for document in documents:
        if cache is None:
            _validate_document(document, result)
            continue
        own = cache.get(document)
        if own is None:
            own = cache[document] = Validated([], [], {kind: set() for kind in KINDS})
            _validate_document(document, own)
        result.resources.extend(own.resources)
        result.diagnostics.extend(own.diagnostics)
        for kind, names in own.broken.items():
            result.broken[kind].update(names)
    return result


def _diag(document: Document, loc: Path, code: str, message: str, hint: str = "",
          *, key: bool = False) -> Diagnostic:
    return Diagnostic(document.path, document.locate(loc, key=key), code, Severity.ERROR,
                      message, hint)


def _validate_document(document: Document, result: Validated) -> None:
    body = document.body
    found = list(_envelope_problems(document))
    result.diagnostics.extend(found)
    if found or not isinstance(body, dict):
        _mark_broken(body, result)
        return
    kind = body["kind"]
    model = _spec_model(document, kind, body.get("spec"), result)
    metadata, meta_errors = _validate_model(document, Metadata, body["metadata"], ("metadata",))
    result.diagnostics.extend(meta_errors)
    if model is None:
        _mark_broken(body, result)
        return
    spec_data = body.get("spec", {})
    if metadata is None:  # still report the spec's own problems
        result.diagnostics.extend(_validate_model(document, model, spec_data, ("spec",))[1])
        _mark_broken(body, result)
        return
    spec, errors = _validate_model(document, model, spec_data, ("spec",))
    rule_indexes = None
    if spec is None and kind in ("RuleGroup", "Routing"):
        spec, rule_indexes = _salvage(document, model, spec_data, errors)
    result.diagnostics.extend(errors)
    if spec is None:
        result.broken[kind].add(metadata.name)
        return
    result.resources.append(Resource(kind, metadata.name, metadata, spec, document, rule_indexes))


def _mark_broken(body: Any, result: Validated) -> None:
    if isinstance(body, dict) and isinstance(body.get("kind"), str) and (
            body["kind"] in result.broken):
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
            result.broken[body["kind"]].add(metadata["name"])


def _envelope_problems(document: Document) -> Iterator[Diagnostic]:
    body = document.body
    if not isinstance(body, dict):
        yield _diag(document, (), "schema/type",
                    "a spec document must be a mapping with apiVersion, kind, metadata and spec")
        return
    for key in body:
        if key not in _ENVELOPE_KEYS:
            yield _diag(document, (key,), "schema/unknown-field", f"unknown field {key!r}",
                        _did_you_mean(key, _ENVELOPE_KEYS), key=True)
    for key in ("apiVersion", "kind", "metadata"):
        if key not in body:
            yield _diag(document, (), "schema/missing", f"missing required field {key!r}",
                        "every document starts with apiVersion: converge/v1, kind and metadata")
    if "apiVersion" in body and body["apiVersion"] != API_VERSION:
        yield _diag(document, ("apiVersion",), "schema/type",
                    f"unsupported apiVersion {body['apiVersion']!r}", f"use {API_VERSION!r}")
    if "kind" in body and (not isinstance(body["kind"], str) or body["kind"] not in KINDS):
        yield _diag(document, ("kind",), "schema/type", f"unknown kind {body['kind']!r}",
                    _did_you_mean(str(body["kind"]), KINDS) or f"kinds: {', '.join(KINDS)}")
    for key in ("metadata", "spec"):
        if key in body and not isinstance(body[key], dict):
            yield _diag(document, (key,), "schema/type", f"{key!r} must be a mapping")


def _spec_model(document: Document, kind: str, spec: Any,
                result: Validated) -> type[pydantic.BaseModel] | None:
    if kind != "Channel":
        return SPEC_MODELS[kind]
    channel_type = spec.get("type") if isinstance(spec, dict) else None
    if channel_type is None:
        result.diagnostics.append(_diag(
            document, ("spec",), "schema/missing", "missing required field 'type'",
            f"channel types: {', '.join(CHANNEL_TYPES)}"))
        return None
    if not isinstance(channel_type, str) or channel_type not in CHANNEL_TYPES:
        result.diagnostics.append(_diag(
            document, ("spec", "type"), "schema/type", f"unknown channel type {channel_type!r}",
            _did_you_mean(str(channel_type), CHANNEL_TYPES)
            or f"channel types: {', '.join(CHANNEL_TYPES)}"))
        return None
    return CHANNEL_TYPES[channel_type]


def _validate_model(document: Document, model: type[pydantic.BaseModel], data: Any,
                    prefix: Path) -> tuple[Any, list[Diagnostic]]:
    try:
        return model.model_validate(data), []
    except pydantic.ValidationError as error:
        return None, list(_map_errors(document, model, data, prefix, error.errors()))


def _salvage(document: Document, model: type[pydantic.BaseModel], data: dict[str, Any],
             errors: list[Diagnostic]) -> tuple[Any, tuple[int, ...] | None]:
    """Re-validate a rule group without its broken rules, and a rule group or routing
    without its `tests` when one is broken, so the rest is still checked."""
    locs = [loc for loc in _error_locs(errors, document) if len(loc) > 1]
    salvaged = dict(data)
    if any(loc[1] == "tests" for loc in locs):
        salvaged.pop("tests", None)
    rules = data.get("rules")
    broken = {loc[2] for loc in locs if len(loc) > 2 and loc[1] == "rules"
              and isinstance(loc[2], int)}
    kept = None
    if broken and isinstance(rules, list):
        kept = tuple(i for i in range(len(rules)) if i not in broken)
        if not kept:
            return None, None
        salvaged["rules"] = [rules[i] for i in kept]
    if len(salvaged) == len(data) and kept is None:
        return None, None
    try:
        spec = model.model_validate(salvaged)
    except pydantic.ValidationError:
        return None, None
    return spec, kept


def _error_locs(errors: list[Diagnostic], document: Document) -> Iterator[Path]:
    by_span = {Span(*span): loc for loc, span in document.spans.items()}
    by_key = {Span(*span): loc for loc, span in document.key_spans.items()}
    for error in errors:
        loc = by_span.get(error.span) or by_key.get(error.span)
        if loc is not None:
            yield loc


def _map_errors(document: Document, model: type[pydantic.BaseModel], data: Any,
                prefix: Path, errors: list[Any]) -> Iterator[Diagnostic]:
    grouped: dict[tuple[Path, str, bool], list[str]] = {}
    hints: dict[tuple[Path, str, bool], str] = {}
    for error in errors:
        loc, on_key = _data_path(data, error["loc"], error["type"])
        code, message, hint = _describe(model, error, loc, data)
        if code == "schema/unknown-field":
            on_key = True
        slot = ((*prefix, *loc), code, on_key)
        if message not in grouped.setdefault(slot, []):
            grouped[slot].append(message)
        hints.setdefault(slot, hint)
    for (loc, code, on_key), messages in grouped.items():
        message = messages[0] if len(messages) == 1 else _either(messages)
        yield _diag(document, loc, code, message, hints[(loc, code, on_key)], key=on_key)


def _either(messages: list[str]) -> str:
    wanted = [m.removeprefix("expected ").split(", got")[0] for m in messages]
    got = messages[0].split(", got", 1)[1] if ", got" in messages[0] else ""
    return "expected " + " or ".join(wanted) + (f", got{got}" if got else "")


def _data_path(data: Any, loc: tuple[Any, ...], error_type: str) -> tuple[Path, bool]:
    """Follow pydantic's `loc` through the data, dropping union tags it inserts."""
    path: list[str | int] = []
    node = data
    on_key = False
    for index, element in enumerate(loc):
        if element == "[key]":
            on_key = True
            break
        last = index == len(loc) - 1
        if isinstance(node, dict) and element in node:
            node = node[element]
            path.append(element)
        elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            node = node[element]
            path.append(element)
        elif last and error_type in ("missing", "extra_forbidden"):
            path.append(element)
        # anything else is a tag pydantic adds for union members: skip it
    return tuple(path), on_key


def _describe(model: type[pydantic.BaseModel], error: Any, loc: Path,
              data: Any) -> tuple[str, str, str]:
    kind = error["type"]
    if kind in _CUSTOM_CODES:
        hint = _SECRET_HINT if kind == "secret_literal" else ""
        return _CUSTOM_CODES[kind], error["msg"], hint
    if kind == "extra_forbidden":
        name = str(loc[-1])
        return ("schema/unknown-field", f"unknown field {name!r}",
                _did_you_mean(name, _field_names(model, loc[:-1])))
    if kind == "missing":
        return "schema/missing", f"missing required field {loc[-1]!r}", ""
    return "schema/type", _type_message(error), _type_hint(error)


_EXPECTED = {
    "string_type": "a string", "float_type": "a number", "float_parsing": "a number",
    "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def _type_message(error: Any) -> str:
    if error["type"] in _EXPECTED:
        return f"expected {_EXPECTED[error['type']]}, got {_describe_input(error.get('input'))}"
    message = str(error["msg"])
    message = message[0].lower() + message[1:] if message else message
    message = message.replace("input should be", "expected").replace("Input should be", "expected")
    if error["type"].endswith("_type") or error["type"] in ("literal_error", "enum"):
        message += f", got {_describe_input(error.get('input'))}"
    return message


def _describe_input(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return repr(value)


def _type_hint(error: Any) -> str:
    if error["type"] == "string_type" and isinstance(error.get("input"), bool | int | float):
        return "quote the value: YAML reads yes/no/on/off/true/false and numbers as non-strings"
    return ""


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    options = list(candidates)
    camel = to_camel(name)
    if camel != name and camel in options:
        return f"did you mean {camel!r}? (keys are camelCase)"
    lowered = {option.lower(): option for option in options}
    if name.lower() in lowered:
        return f"did you mean {lowered[name.lower()]!r}?"
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known fields: {', '.join(options)}" if options else ""


def _field_names(model: type[pydantic.BaseModel], loc: Path) -> list[str]:
    """The keys the model accepts at `loc` (walking field annotations)."""
    current: Any = model
    for element in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
            field = next((f for n, f in current.model_fields.items()
                          if (f.alias or n) == element), None)
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (list, dict):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [m for m in members if isinstance(_unwrap(m), type)
                      and issubclass(_unwrap(m), pydantic.BaseModel)]
            annotation = models[0] if models else members[0]
        else:
            return annotation
