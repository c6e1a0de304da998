"""The spec field reference in `docs/reference.md`, generated from the models so it cannot drift.

Every kind gets a section: its document (the envelope around its spec), then one table per
object type reached from it, in model field order, with each field's key (the alias users
write), type, default, constraints and description (the field's docstring). Types shared by
every kind (metadata, secret references) come first. `python -m converge.specs.reference` prints the
page; `--write` writes it, and a test fails while the committed page differs.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from converge.specs.common import (
    Duration,
    EnvRef,
    FileRef,
    LabelName,
    Metadata,
    ResourceName,
    SecretRef,
    Severity,
)
from converge.specs.jsonschema import document_model, field_docstrings
from converge.specs.kinds import KINDS, SPEC_MODELS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"
COMMAND = "python -m converge.specs.reference --write"

GUIDE = {"Project": "2-project", "RuleGroup": "3-rulegroup", "Channel": "4-channel",
         "Routing": "5-routing", "WorkerPool": "6-workerpool",
         "HealingPolicy": "7-healingpolicy"}
"""Kind → its section in docs/specs.md (the guide, with examples)."""

_VALUE_TYPES = "value-types"
_NAMED: tuple[tuple[Any, str], ...] = tuple(  # Annotated types with these validators
    (get_args(alias)[1], name) for alias, name in (  # are shown by their names
        (Duration, "duration"), (ResourceName, "name"), (LabelName, "label name"),
        (SecretRef, "secret")))
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_COMMON: tuple[type[BaseModel], ...] = (Metadata, EnvRef, FileRef)
_YAML_NOT_STRING = re.compile(  # plain scalars YAML 1.1 reads as something other than a string
    r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9]+|[-+]?\.inf"
    r"|\.nan|y|n|yes|no|true|false|on|off|null|~|)$", re.IGNORECASE)
_YAML_SPECIAL = re.compile(r"[,\[\]{}#&*!|>'\"%@`]|: | #|^[-?:] ")


def reference() -> str:
    """The whole page, Markdown."""
    placed = set(_COMMON)
    sections = [_kind_section(kind, placed) for kind in KINDS]
    page = "\n".join([_header(), _common_section(), *sections]).rstrip("\n") + "\n"
    _check_anchors(page)
    return page


def description(model: type[BaseModel], name: str) -> str:
    """A field's description, on one line: its docstring, else its `Field(description=)`."""
    text = field_docstrings(model).get(name) or model.model_fields[name].description or ""
    return " ".join(text.split())


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


# --- page structure -----------------------------------------------------------------------

def _header() -> str:
    contents = " · ".join(f"[{title}](#{slug(title)})" for title in ("Common types", *KINDS))
    return f"""# Spec field reference

Generated from the models in `specs/` by `{COMMAND}`; do not edit by hand.
Every key of every kind, with its type, default, constraints and meaning. For a guide to
the spec language, with examples, see [specs.md](specs.md); for what `converge check`
verifies beyond these types, see [specs.md § 9](specs.md#9-checked-for-you) and
[codes.md](codes.md).

Contents: {contents}

Keys are camelCase and unknown keys are errors. In the *default* column, **required**
means the key must be given and *unset* that leaving it out has the effect its description
gives. A *type* links to the table of a nested object.
"""


def _common_section() -> str:
    severities = ", ".join(f"`{level}`" for level in get_args(Severity))
    rows = [
        ("duration", "`30s`, `5m`, `1h30m`, `500ms`", "a number and a unit (`ms s m h d w y`), "
         "largest unit first; `0` alone means `0s`"),
        ("name", "`system-resources`", "1–63 lower-case letters, digits and `-`, starting and "
         "ending with a letter or digit; names a document of a kind"),
        ("label name", "`instance`, `task_type`", "letters, digits and `_`, not starting with "
         "a digit or with `__`"),
        ("secret", "`{env: NAME}` or `{file: PATH}`", "exactly one of the two "
         "([EnvRef](#envref), [FileRef](#fileref)), resolved on the host that uses it; a "
         "plain string is an error"),
        ("severity", severities, "alert and event levels, lowest first"),
    ]
    table = ["| type | written as | meaning |", "|---|---|---|",
             *(f"| {_cell(a)} | {_cell(b)} | {_cell(c)} |" for a, b, c in rows)]
    parts = ["## Common types", "", "### Value types", "",
             "Value types used throughout ([more in the guide]"
             "(specs.md#value-types-used-throughout)):", "", *table, ""]
    where = {Metadata: "At `metadata` of every kind.",
             EnvRef: "One form of a *secret*.", FileRef: "The other form of a *secret*."}
    for model in _COMMON:
        parts.append(_model_table(model, where[model]))
    return "\n".join(parts)


def _kind_section(kind: str, placed: set[type[BaseModel]]) -> str:
    document = document_model(kind)
    module = sys.modules[SPEC_MODELS[kind].__module__]
    intro = (inspect.getdoc(module) or "").split("\n\n")[0]
    parts = [f"## {kind}", "", " ".join(intro.split()), "",
             f"Guide and examples: [specs.md § {kind}](specs.md#{GUIDE[kind]}).", "",
             _table(document), ""]
    paths = _paths(document)
    for model in _order(document, placed):
        where = ", ".join(f"`{path}`" for path in paths.get(model, []))
        parts.append(_model_table(model, f"At {where}." if where else ""))
    return "\n".join(parts)


def _model_table(model: type[BaseModel], where: str) -> str:
    doc = " ".join((model.__doc__ or "").split())
    lines = [f"### {model.__name__}", ""]
    lines += [text + "\n" for text in (doc, where) if text]
    return "\n".join([*lines, _table(model), ""])


def _table(model: type[BaseModel]) -> str:
    rows = ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        shape = _field_shape(field)
        cells = [f"`{field.alias or name}`", shape.text, _default(field),
                 "; ".join(shape.constraints), description(model, name)]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def _check_anchors(page: str) -> None:
    """Every heading's anchor is unique and every in-page link has a target."""
    anchors = [slug(h) for h in re.findall(r"^#+ (.+)$", page, flags=re.MULTILINE)]
    doubled = sorted({a for a in anchors if anchors.count(a) > 1})
    missing = sorted(set(re.findall(r"\]\(#([^)]+)\)", page)) - set(anchors))
    if doubled or missing:
        raise ValueError(f"reference anchors: doubled {doubled}, missing {missing}")


# --- walking the models -------------------------------------------------------------------

def _order(document: type[BaseModel], placed: set[type[BaseModel]]) -> list[type[BaseModel]]:
    """The object types of a kind not placed before, depth first in field order; the
    variants of a union are listed together before any of their own objects."""
    found: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        for field in model.model_fields.values():
            group = [m for m in _field_shape(field).models if m not in placed]
            placed.update(group)
            found.extend(group)
            for child in group:
                visit(child)

    visit(document)
    return found


def _paths(document: type[BaseModel]) -> dict[type[BaseModel], list[str]]:
    """Every dotted path at which each object type occurs (a recursion is followed once)."""
    paths: dict[type[BaseModel], list[str]] = {}

    def visit(model: type[BaseModel], prefix: str, seen: tuple[type[BaseModel], ...]) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{field.alias or name}"
            for child, suffix in _field_shape(field).children:
                path = key + suffix
                if path not in paths.setdefault(child, []):
                    paths[child].append(path)
                if child not in seen:
                    visit(child, f"{path}.", (*seen, child))

    visit(document, "", (document,))
    return paths


def _field_shape(field: FieldInfo) -> _Shape:
    """The shape of a field's type, with what pydantic lifted out of it put back."""
    if isinstance(field.discriminator, str):
        return _union(list(get_args(field.annotation)), field.discriminator)
    if field.metadata:
        return _shape(Annotated[(field.annotation, *field.metadata)])
    return _shape(field.annotation)


@dataclasses.dataclass(frozen=True)
class _Shape:
    """What a type annotation shows: its text, constraints and nested object types."""

    text: str
    constraints: tuple[str, ...] = ()
    children: tuple[tuple[type[BaseModel], str], ...] = ()
    """Nested object types, each with its path suffix (`[]` for list items)."""

    @property
    def models(self) -> list[type[BaseModel]]:
        return [model for model, _ in self.children]


def _shape(tp: Any) -> _Shape:
    origin = get_origin(tp)
    if origin is Annotated:
        return _annotated(tp)
    if origin in (Union, types.UnionType):
        return _union(list(get_args(tp)), None)
    if origin is Literal:
        values = [f"`{_yaml(value)}`" for value in get_args(tp)]
        return _Shape(values[0] if len(values) == 1 else "one of " + ", ".join(values))
    if origin is list:
        item = _shape(get_args(tp)[0])
        text = item.text.replace("one of ", "list, each one of ", 1) if item.text.startswith(
            "one of ") else f"list of {item.text}"
        return _Shape(text, tuple(f"each item {c}" for c in item.constraints),
                      tuple((model, f"[]{suffix}") for model, suffix in item.children))
    if origin is dict:
        key, value = (_shape(arg) for arg in get_args(tp))
        return _Shape(f"map of {key.text} → {value.text}",
                      tuple(f"each value {c}" for c in value.constraints),
                      tuple((model, f".<key>{suffix}") for model, suffix in value.children))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _Shape(f"[{tp.__name__}](#{slug(tp.__name__)})", children=((tp, ""),))
    if tp in _SCALARS:
        return _Shape(_SCALARS[tp])
    raise TypeError(f"the reference cannot show the type {tp!r}")


def _annotated(tp: Any) -> _Shape:
    base, *metadata = get_args(tp)
    for marker, name in _NAMED:
        if marker in metadata:
            return _Shape(f"[{name}](#{_VALUE_TYPES})")
    discriminator = next((item.discriminator for item in metadata
                          if isinstance(item, FieldInfo) and item.discriminator), None)
    if isinstance(discriminator, str):
        return _union(list(get_args(base)), discriminator)
    inner = _shape(base)
    constraints = [c for item in metadata for c in _constraints(item, base)]
    return dataclasses.replace(inner, constraints=(*constraints, *inner.constraints))


def _union(members: list[Any], discriminator: str | None) -> _Shape:
    members = [m for m in members if m is not type(None)]
    if EnvRef in members and FileRef in members:
        members = [m for m in members if m not in (EnvRef, FileRef)] + [SecretRef]
    shapes = [_shape(member) for member in members]
    constraints = tuple(c for shape in shapes for c in shape.constraints)
    children = tuple(child for shape in shapes for child in shape.children)
    if discriminator is None:
        return _Shape(" or ".join(shape.text for shape in shapes), constraints, children)
    links = []
    for member in members:
        [value] = get_args(member.model_fields[discriminator].annotation)
        links.append(f"[`{value}`](#{slug(member.__name__)})")
    return _Shape(f"chosen by `{discriminator}`: " + ", ".join(links), constraints, children)


def _constraints(item: Any, base: Any) -> Iterator[str]:
    if isinstance(item, FieldInfo):
        for inner in item.metadata:
            yield from _constraints(inner, base)
        return
    bounds = ((annotated_types.Ge, "ge", "≥"), (annotated_types.Gt, "gt", ">"),
              (annotated_types.Le, "le", "≤"), (annotated_types.Lt, "lt", "<"))
    for kind, attribute, sign in bounds:
        if isinstance(item, kind):
            yield f"{sign} {getattr(item, attribute)}"
    if isinstance(item, annotated_types.MinLen):
        if base is str:
            yield "not empty" if item.min_length == 1 else f"≥ {item.min_length} characters"
        else:
            yield f"≥ {item.min_length} item" + ("s" if item.min_length > 1 else "")
    pattern = getattr(item, "pattern", None)
    if isinstance(pattern, str):
        yield f"matches `{pattern}`"


# --- values -------------------------------------------------------------------------------

def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True, validated_data={})
    return "*unset*" if value is None else f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    """A default as YAML flow text; an object shows only the keys its default sets."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_unset=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        plain = not (_YAML_NOT_STRING.match(value) or _YAML_SPECIAL.search(value)
                     or value != value.strip())
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(k)}: {_yaml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"the reference cannot show the default {value!r}")


def _cell(text: str) -> str:
    """Table cell text: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    """`python -m converge.specs.reference [--write]`: print the page, or write
    docs/reference.md."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write"]:
        PAGE.write_text(reference(), encoding="utf-8")
        return 0
    if args:
        print("usage: python -m converge.specs.reference [--write]", file=sys.stderr)
        return 2
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
