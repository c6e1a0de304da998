"""The canonical key order: `apiVersion, kind, metadata, spec`, then the models' fields.

Read from the pydantic models of `specs` at run time, so a field added to a kind is
ordered without touching this module. A model's own fields come before those it
inherits (a channel's `type` and settings before the `sendResolved` and `template` every
channel shares); keys a model does not know keep their relative order after the known
ones, and keys of free mappings (labels, annotations, env) are never reordered.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel

from converge.compiler.fmt.tree import Alias, Collection, Document, Entry, Node, Scalar
from converge.specs.common import Metadata
from converge.specs.kinds import SPEC_MODELS

ENVELOPE = ("apiVersion", "kind", "metadata", "spec")


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """What a node holds: one of some models, a list of `items`, or a dict of `values`."""

    models: tuple[type[BaseModel], ...] = ()
    items: Shape | None = None
    values: Shape | None = None


_NOTHING = Shape()


def order_document(document: Document) -> None:
    """Put the keys of a document in canonical order, in place.

    A document whose aliases would come before their anchors keeps its order.
    """
    before = _snapshot(document.root)
    _order_root(document.root)
    if document.aliased and not _anchors_first(document.root):
        for collection, entries in before:
            collection.entries[:] = entries


def _snapshot(node: Node | None) -> list[tuple[Collection, list[Entry]]]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Collection):
            found.append((current, list(current.entries)))
            stack.extend(e.value for e in current.entries)
    return found


def _anchors_first(node: Node | None) -> bool:
    """Whether every alias comes after its anchor, in the order the nodes are written."""
    defined: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Alias):
            if current.anchor not in defined:
                return False
            continue
        if current is None:
            continue
        if current.anchor:
            defined.add(current.anchor)
        if isinstance(current, Collection):
            for entry in reversed(current.entries):
                stack.append(entry.value)
                if entry.key is not None:
                    stack.append(entry.key)
    return True


def _order_root(root: Node | None) -> None:
    if not isinstance(root, Collection) or root.kind != "map":
        return
    keys = _keys(root)
    if "kind" not in keys and "apiVersion" not in keys:
        return
    _sort(root, list(ENVELOPE))
    kind = keys.get("kind")
    spec_model = SPEC_MODELS.get(kind.value) if isinstance(kind, Scalar) else None
    for entry in root.entries:
        assert entry.key is not None
        if entry.key.value == "metadata":
            _order(entry.value, Shape((Metadata,)))
        elif entry.key.value == "spec" and spec_model is not None:
            _order(entry.value, Shape((spec_model,)))


def _keys(node: Collection) -> dict[str, Node]:
    return {e.key.value: e.value for e in node.entries if e.key is not None}


def _sort(node: Collection, known: list[str]) -> None:
    rank = {key: i for i, key in enumerate(known)}
    position = {id(e): i for i, e in enumerate(node.entries)}
    node.entries.sort(key=lambda e: (
        rank.get(e.key.value, len(rank)) if e.key is not None else len(rank), position[id(e)]))


def _order(node: Node, shape: Shape) -> None:
    if not isinstance(node, Collection):
        return
    if node.kind == "seq":
        if shape.items is not None:
            for entry in node.entries:
                _order(entry.value, shape.items)
        return
    if shape.models:
        model = _refine(_best(shape.models, node), node)
        fields = fields_of(model)
        _sort(node, list(fields))
        for entry in node.entries:
            assert entry.key is not None
            _order(entry.value, fields.get(entry.key.value, _NOTHING))
    elif shape.values is not None:
        for entry in node.entries:
            _order(entry.value, shape.values)


def _best(models: tuple[type[BaseModel], ...], node: Collection) -> type[BaseModel]:
    """Of several models a mapping may be, the one that knows most of its keys."""
    keys = set(_keys(node))
    return max(models, key=lambda m: len(keys & set(fields_of(m))))


def _refine(model: type[BaseModel], node: Collection) -> type[BaseModel]:
    """A subclass picked by a required `Literal` field (a channel by its `type`)."""
    keys = _keys(node)
    for subclass in model.__subclasses__():
        for name, field in subclass.model_fields.items():
            value = keys.get(field.alias or name)
            if (field.is_required() and typing.get_origin(field.annotation) is Literal
                    and isinstance(value, Scalar)
                    and value.value in typing.get_args(field.annotation)):
                return _refine(subclass, node)
    return model


@functools.cache
def fields_of(model: type[BaseModel]) -> dict[str, Shape]:
    """A model's keys (aliases) in canonical order, with the shape of each one's value."""
    names: list[str] = []
    for cls in model.__mro__:
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            own = cls.__dict__.get("__annotations__", {})
            names.extend(n for n in own if n in model.model_fields and n not in names)
    names.extend(n for n in model.model_fields if n not in names)
    fields = model.model_fields
    return {fields[n].alias or n: shape_of(fields[n].annotation) for n in names}


def shape_of(annotation: Any) -> Shape:
    """The shape of values of a type annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return shape_of(args[0])
    if origin is Union or origin is types.UnionType:
        return functools.reduce(_merge, (shape_of(a) for a in args), _NOTHING)
    if origin in (list, tuple, set, frozenset) and args:
        return Shape(items=shape_of(args[0]))
    if origin is dict and len(args) == 2:
        return Shape(values=shape_of(args[1]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Shape((annotation,))
    return _NOTHING


def _merge(a: Shape, b: Shape) -> Shape:
    items = a.items if b.items is None else b.items if a.items is None else _merge(a.items,
                                                                                  b.items)
    values = (a.values if b.values is None else b.values if a.values is None
              else _merge(a.values, b.values))
    models = a.models + tuple(m for m in b.models if m not in a.models)
    return Shape(models, items, values)
