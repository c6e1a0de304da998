"""Read the YAML of foreign configs the way their Go programs do.

Prometheus and Alertmanager decode YAML into typed Go structs: a plain scalar becomes
whatever the field's type is, so `severity: 1.10` is the label value "1.10", not the
float 1.1. PyYAML's usual resolvers would turn such values into numbers and lose their
text. Here every scalar stays a string (only `null` and merge keys keep their meaning);
the importers convert the few typed fields (integers, booleans) themselves.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KEPT_TAGS = ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")
_TRUE = frozenset({"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"})
_FALSE = frozenset({"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"})
_INT = re.compile(r"^[-+]?[0-9]+$")


class SourceFormatError(Exception):
    """The input is not YAML, or not the kind of file the importer reads. One line."""


class TextLoader(_Base):  # type: ignore[misc]
    """A safe loader whose implicit scalars are all strings, except null."""


TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in _KEPT_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str, *, source: str) -> list[Any]:
    """Every YAML document of `text`, scalars as strings; empty documents dropped.

    Raises:
        SourceFormatError: the text is not YAML.
    """
    try:
        documents = list(yaml.load_all(text, Loader=TextLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise SourceFormatError(f"{source}{where}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise SourceFormatError(f"{source}: not valid YAML: {error}") from None
    except RecursionError:
        raise SourceFormatError(f"{source}: not valid YAML: nested too deeply") from None
    return [document for document in documents if document is not None]


def position(text: str, *path: str | int) -> str:
    """`line:column` (1-based) of the node at `path` in the first document, else ''.

    `path` holds mapping keys and sequence indexes: `position(text, "receivers", 2,
    "pushover_configs")` points at that key of the third receiver.
    """
    try:
        node = yaml.compose(text, Loader=TextLoader)
    except yaml.YAMLError:
        return ""
    for index, step in enumerate(path):
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            found = [(k, v) for k, v in node.value if getattr(k, "value", None) == step]
            if not found:
                return ""
            key, node = found[0]
            if index == len(path) - 1:
                node = key  # a key's own position: where the field is written
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and (
                0 <= step < len(node.value)):
            node = node.value[step]
        else:
            return ""
    if node is None:
        return ""
    mark = node.start_mark
    return f"{mark.line + 1}:{mark.column + 1}"


def to_int(value: Any, *, where: str) -> int:
    """A whole number written as YAML text.

    Raises:
        SourceFormatError: the value is not a whole number.
    """
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value)
    raise SourceFormatError(f"{where}: expected a whole number, got {value!r}")


def to_bool(value: Any, *, where: str) -> bool:
    """A boolean written as YAML text (`true`, `false`, and YAML 1.1's yes/no/on/off).

    Raises:
        SourceFormatError: the value is not a boolean.
    """
    if isinstance(value, str) and value in _TRUE:
        return True
    if isinstance(value, str) and value in _FALSE:
        return False
    raise SourceFormatError(f"{where}: expected true or false, got {value!r}")


def to_text(value: Any, *, where: str) -> str:
    """A scalar as its text; `null` is the empty string, as Go decodes it.

    Raises:
        SourceFormatError: the value is a mapping or a list.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise SourceFormatError(f"{where}: expected a string, got {_shape(value)}")


def to_duration(value: Any, *, where: str) -> str:
    """A duration's text; Prometheus's bare `0` becomes `0s`."""
    text = to_text(value, where=where).strip()
    return "0s" if text == "0" else text


def mapping(value: Any, *, where: str) -> dict[str, Any]:
    """The value as a mapping (`null` is empty).

    Raises:
        SourceFormatError: the value is not a mapping.
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise SourceFormatError(f"{where}: expected a mapping, got {_shape(value)}")


def sequence(value: Any, *, where: str) -> list[Any]:
    """The value as a list (`null` is empty).

    Raises:
        SourceFormatError: the value is not a list.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise SourceFormatError(f"{where}: expected a list, got {_shape(value)}")


def string_map(value: Any, *, where: str) -> dict[str, str]:
    """A mapping of strings to strings, such as labels or annotations."""
    return {to_text(k, where=where): to_text(v, where=f"{where}.{k}")
            for k, v in mapping(value, where=where).items()}


def string_list(value: Any, *, where: str) -> list[str]:
    """A list of strings; a lone string counts as a one-element list."""
    if isinstance(value, str):
        return [value]
    return [to_text(v, where=f"{where}[{i}]")
            for i, v in enumerate(sequence(value, where=where))]


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
