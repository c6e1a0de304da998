"""Building blocks shared by every kind: the envelope, names, durations, secret references.

Value types that can be wrong in a way users make (a duration, a label name, a secret
written in clear) raise `PydanticCustomError`s whose type names map one-to-one onto
diagnostic codes (`duration_invalid` → `duration/invalid`), so the compiler can report
them at the value's position with a stable code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

API_VERSION = "converge/v1"

_DURATION = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {
    "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000,
}
_UNIT_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RESOURCE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class Spec(BaseModel):
    """Base of every user-facing model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        serialize_by_alias=True,
        defer_build=True,  # build validators on first use: `converge check` starts faster
    )


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `1h30m` or `500ms`.

    Raises:
        ValueError: the text is not a Prometheus duration.
    """
    if not _DURATION.match(text):
        raise ValueError(text)
    units = [unit for _, unit in _DURATION_PART.findall(text)]
    positions = [_UNIT_ORDER.index(unit) for unit in units]
    if positions != sorted(set(positions)):
        raise ValueError(text)
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def _check_duration(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return "0s"
    if not isinstance(value, str):
        kind = {list: "a list", dict: "a mapping", bool: "a boolean"}.get(type(value), "a number")
        raise PydanticCustomError(
            "duration_invalid",
            "expected a duration such as 30s, 5m or 1h30m, got {kind}",
            {"kind": kind if value is not None else "nothing"},
        )
    try:
        parse_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "duration_invalid",
            "'{value}' is not a duration: use a number and a unit (ms, s, m, h, d, w, y), "
            "largest unit first, such as 90s or 1h30m",
            {"value": value},
        ) from None
    return value


Duration = Annotated[
    str,
    BeforeValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern,
                    "description": "Prometheus duration, e.g. 30s, 5m, 1h30m"}),
]


def _check_label_name(value: str) -> str:
    if not _LABEL_NAME.match(value):
        raise PydanticCustomError(
            "label_invalid_name",
            "'{value}' is not a valid label name: use letters, digits and underscores, "
            "not starting with a digit",
            {"value": value},
        )
    if value.startswith("__"):
        raise PydanticCustomError(
            "label_invalid_name",
            "'{value}' starts with '__', which Prometheus reserves for internal labels",
            {"value": value},
        )
    return value


LabelName = Annotated[str, AfterValidator(_check_label_name)]
Labels = dict[LabelName, str]


def _check_resource_name(value: str) -> str:
    if not _RESOURCE_NAME.match(value):
        raise PydanticCustomError(
            "name_invalid",
            "'{value}' is not a valid name: use lower-case letters, digits and '-', "
            "at most 63 characters, starting and ending with a letter or digit",
            {"value": value},
        )
    return value


ResourceName = Annotated[
    str,
    AfterValidator(_check_resource_name),
    WithJsonSchema({"type": "string", "pattern": _RESOURCE_NAME.pattern}),
]


class KubernetesWorkload(Spec):
    """A Kubernetes workload (Deployment or StatefulSet) that converge renders objects for."""

    kind: Literal["Deployment", "StatefulSet"]
    """Its kind (`apps/v1`)."""
    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    """Its `metadata.name`."""
    namespace: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    """Its namespace (the rendered objects that act on it go there too)."""


class EnvRef(Spec):
    """A secret read from an environment variable on the host that uses it."""

    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Name of the environment variable holding the secret."""


class FileRef(Spec):
    """A secret read from a file on the host that uses it."""

    file: Annotated[str, Field(min_length=1)]
    """Path of the file holding the secret (its content, trailing newline dropped)."""


def _check_secret(value: Any) -> Any:
    if isinstance(value, str):
        raise PydanticCustomError(
            "secret_literal",
            "a secret must be a reference, not a value written in the spec",
            {},
        )
    if isinstance(value, dict) and len(value) == 1 and ("env" in value or "file" in value):
        return value
    raise PydanticCustomError(
        "secret_invalid",
        "expected a secret reference, 'env: NAME' or 'file: PATH'",
        {},
    )


SecretRef = Annotated[EnvRef | FileRef, BeforeValidator(_check_secret)]


def require_one_of(spec: BaseModel, first: str, second: str, *, error: str, what: str) -> None:
    """Raise `error` unless exactly one of two optional fields (by attribute name) is set.

    The message names the fields by their YAML keys (camelCase aliases).
    """
    if (getattr(spec, first) is None) == (getattr(spec, second) is None):
        keys = [type(spec).model_fields[name].alias or name for name in (first, second)]
        raise PydanticCustomError(
            error, "{what} needs exactly one of '{a}' or '{b}'",
            {"what": what, "a": keys[0], "b": keys[1]})


class Metadata(Spec):
    """What identifies a document: its name (unique per kind) and free labels."""

    name: ResourceName
    """Unique per kind; lower-case letters, digits and '-'. Used in file names."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form labels for people and tools; converge ignores them."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Free-form annotations for people and tools; converge ignores them."""


class Envelope(BaseModel):
    """The Kubernetes-shaped frame of every document, validated before its spec."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: Literal["converge/v1"]
    """The spec language version; `converge/v1` is the only one."""
    kind: str
    """The document's kind, which chooses the model of its `spec`."""
    metadata: dict[str, Any]
    """The document's name and labels, validated as `Metadata` afterwards."""
    spec: dict[str, Any] = Field(default_factory=dict)
    """The kind's fields, validated by the kind's model afterwards; `{}` when absent."""


Severity = Literal["info", "warning", "error", "critical"]
"""Alert levels, lowest first (the source documents' levels)."""

SEVERITY_ORDER: tuple[str, ...] = ("info", "warning", "error", "critical")
