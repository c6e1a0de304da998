"""Validate rendered Kubernetes objects offline: upstream schemas and `kubectl kustomize`.

No Kubernetes API server can run on the project's machines, so what is provable offline is
proven here: each object against its upstream schema, published on npm and pinned in
``tests/k8s/package-lock.json`` (``@kubernetes-models/prometheus-operator`` 6.0.0 and
``@kubernetes-models/keda`` 2.0.0, generated from the operators' Go API types;
``kubernetes-models`` 5.1.0, the Kubernetes OpenAPI; MIT), run by node
(``tests/k8s/validate.mjs``); and the compiled directory built by ``kubectl kustomize``.
``scripts/install-tools`` installs node, npm, kubectl and the packages (``npm ci``).

Like ``realtools``: a missing tool or package skips the test locally and fails it when
``CI`` is set. Mark tests that use it with ``@pytest.mark.realtools``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import realtools

SCHEMAS = Path(__file__).resolve().parent / "k8s"
_VALIDATOR = SCHEMAS / "validate.mjs"
_PACKAGES = ("@kubernetes-models/prometheus-operator", "@kubernetes-models/keda",
             "kubernetes-models")


def _installed() -> None:
    for package in _PACKAGES:
        if not (SCHEMAS / "node_modules" / package / "package.json").is_file():
            message = f"{package} is not installed in tests/k8s: run scripts/install-tools"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)


def schema_errors(objects: list[dict[str, Any]]) -> dict[int, str]:
    """The upstream schema's complaint about each invalid object, by index; {} when every
    object is valid. An object of an API group without a published schema is an error."""
    node = realtools.tool("node")
    _installed()
    result = subprocess.run([node, str(_VALIDATOR)], input=json.dumps(objects), text=True,
                            capture_output=True, cwd=SCHEMAS, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout)
    assert len(verdicts) == len(objects)
    return {index: verdict for index, verdict in enumerate(verdicts) if verdict is not None}


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    """``kubectl kustomize DIRECTORY`` (offline: it only reads the directory)."""
    return realtools.run("kubectl", "kustomize", str(directory))


_PROPERTY = re.compile(r'^\s+"([^"]+)"\??:', re.MULTILINE)

Shape = tuple[str, dict[str, "Shape"]]
"""A type declared by a schema package (`package/path/Type`) and the shapes of its fields
converge fills in (a list field's shape is its items')."""


def declared(model: str) -> frozenset[str]:
    """The fields the package's TypeScript declaration of `model` (`package/path/Type`)
    names: what the upstream type knows, where the validators accept unknown fields."""
    _installed()
    text = (SCHEMAS / "node_modules" / f"{model}.d.ts").read_text(encoding="utf-8")
    start = text.index("export interface ")
    block = text[start:text.index("\n}", start)]
    return frozenset(_PROPERTY.findall(block))


def unknown_fields(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Every field of `value` (and of its nested values `shape` describes) that its
    upstream type does not declare, as JSON-pointer-like paths."""
    model, children = shape
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in unknown_fields(item, shape, f"{where}/{index}")]
    known = declared(model)
    found = [f"{where}/{key}" for key in value if key not in known]
    for key, child in children.items():
        if key in value:
            found.extend(unknown_fields(value[key], child, f"{where}/{key}"))
    return found
