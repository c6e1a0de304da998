"""Kubernetes objects as YAML: metadata, hashes and the one template they are written by.

Every object is data written by `kubernetes/object.yaml.j2`, whose values all pass through
`yamlsafe`; the renderers (`operator_rules`, `alertmanager_secret`, `keda`) build the data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from converge.compiler.render import environment
from converge.compiler.render.yamlsafe import YamlText, quote

ROOT = "kubernetes"
TEMPLATE = "kubernetes/object.yaml.j2"
MANAGED_BY = {"app.kubernetes.io/managed-by": "converge"}
"""Labels every rendered object carries."""
SOURCE = "converge/source"
SHA256 = "converge/sha256"
"""Annotations: the spec an object comes from, and the SHA-256 of what it embeds (the
target file's exact bytes, as listed in the manifest of a bundle that renders it too)."""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
"""Identifiers a YAML 1.1 reader (go-yaml in kubectl, PyYAML) takes for booleans or null."""


class Lines(YamlText):
    """Text already rendered as YAML lines, starting on a new line (a nested block)."""

    __slots__ = ()


def sha256(text: str) -> str:
    """SHA-256 of a rendered file's exact bytes (as the manifest lists them)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def metadata(*, name: str, namespace: str, labels: Mapping[str, str] | None = None,
             annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An object's `metadata`: converge's labels, then the given ones (sorted)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace,
                            "labels": dict(sorted({**MANAGED_BY, **(labels or {})}.items()))}
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta


def document(data: Mapping[str, Any], *, comments: list[str]) -> str:
    """One object as YAML: the generated header, `comments`, then `data` in its order."""
    return environment.render(TEMPLATE, object=_prepared(data), comments=comments)


def indented(text: str, spaces: int) -> Lines:
    """`text` (whole YAML lines) indented by `spaces`, as a nested block; empty lines stay
    empty so literal blocks inside keep their exact content."""
    pad = " " * spaces
    return Lines("".join(f"\n{pad}{line}" if line else "\n"
                         for line in text.rstrip("\n").split("\n")))


def _prepared(value: Any) -> Any:
    """Keys as identifiers or quoted, scalars quoted; rendered blocks kept as they are."""
    if isinstance(value, YamlText):
        return value
    if isinstance(value, Mapping):
        return {(key if _IDENT.match(key) and key.lower() not in _YAML11_WORDS
                 else quote(key)): _prepared(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_prepared(item) for item in value]
    return quote(value)
