"""Secret placeholders: what a secret reference becomes in a rendered file.

Rendered files never hold a secret. Where a target needs one, the file carries a
placeholder the sidecar resolves on its own host when it writes the file:

    https://converge-secret.invalid/env/NAME        the environment variable NAME
    https://converge-secret.invalid/file/PATH       the contents of the file PATH (URL-quoted)

The placeholder is a URL because Alertmanager validates URL-typed fields (`api_url`,
`webhook_url`) as URLs; `.invalid` is a reserved top-level domain (RFC 2606), so an
unresolved placeholder can never reach a real host.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

PREFIX = "https://converge-secret.invalid/"
PATTERN = re.compile(r"https://converge-secret\.invalid/(env|file)/([A-Za-z0-9_%.~\-]+)")
"""`~` included: `urllib.parse.quote` leaves it unescaped (RFC 3986 unreserved)."""


def placeholder(reference: Mapping[str, str]) -> str:
    """The placeholder for a `{env: NAME}` or `{file: PATH}` reference."""
    if "env" in reference:
        return f"{PREFIX}env/{reference['env']}"
    return f"{PREFIX}file/{urllib.parse.quote(reference['file'], safe='')}"


def references(text: str) -> list[dict[str, str]]:
    """Every secret reference whose placeholder appears in `text`, in order."""
    found = []
    for kind, value in PATTERN.findall(text):
        found.append({kind: value if kind == "env" else urllib.parse.unquote(value)})
    return found


Position = dict[str, str]
"""One secret position of a rendered file: `pointer` (RFC 6901, into the parsed file),
the reference (`env` or `file`), and `prefix` when the value is `prefix + placeholder`
(a vmalert header `Name: …`)."""

_RULE_HEADERS = re.compile(r"^/groups/\d+/(headers|notifier_headers)/\d+$")
_HEADER = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+: )(.*)$")
_EXACT = re.compile(rf"^{PATTERN.pattern}$")


def positions(path: str, text: str, model: Any) -> list[Position]:
    """Where the host must resolve a secret in the rendered file `path`, and only there.

    Rule files: the vmalert group headers holding a secret. `alertmanager.yaml`: the
    receiver and global fields holding exactly a placeholder. The daemons' JSON files:
    every secret reference of the channels, pools and healing policies, found through
    the models' own `EnvRef` / `FileRef` fields (never by their shape). Placeholder text
    anywhere else is no position: the host refuses it (and `converge check` reports it
    as `secret/placeholder-misplaced`).
    """
    if path.endswith(".json"):
        return _json_positions(path, text, model)
    if not path.endswith((".yaml", ".yml")) or "converge-secret.invalid" not in text:
        return []
    import yaml

    found: list[Position] = []
    for pointer, value in _scalars(yaml.safe_load(text), ""):
        if path.startswith(("prometheus/", "vmalert/")):
            header = _HEADER.match(value)
            if _RULE_HEADERS.match(pointer) and header and _EXACT.match(header.group(2)):
                found.append({"pointer": pointer, **_reference(header.group(2)),
                              "prefix": header.group(1)})
        elif pointer.startswith(("/receivers/", "/global/")) and _EXACT.match(value):
            found.append({"pointer": pointer, **_reference(value)})
    return found


def _reference(value: str) -> dict[str, str]:
    found = references(value)
    return found[0]


def _scalars(value: Any, pointer: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(pointer, value)]
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    found: list[tuple[str, str]] = []
    for key, item in items:
        found += _scalars(item, f"{pointer}/{escape(str(key))}")
    return found


def escape(key: str) -> str:
    """One RFC 6901 reference token."""
    return key.replace("~", "~0").replace("/", "~1")


_JSON_KINDS = {"reconciler/channels.json": ("channels", "channels"),
               "reconciler/pools.json": ("pools", "pools"),
               "reconciler/healing.json": ("policies", "healing")}


def _json_positions(path: str, text: str, model: Any) -> list[Position]:
    if path not in _JSON_KINDS:
        return []
    import json

    key, attribute = _JSON_KINDS[path]
    by_name = {item.name: item for item in getattr(model, attribute)}
    found: list[Position] = []
    for index, entry in enumerate(json.loads(text)[key]):
        item = by_name.get(entry.get("name"))
        if item is not None:
            found += _model_references(item.spec, f"/{key}/{index}/spec")
    # the JSON is written with sorted keys: so are its positions, whatever the specs' order
    return sorted(found, key=lambda position: _sort_key(position["pointer"]))


def _sort_key(pointer: str) -> list[tuple[int, int | str]]:
    return [(0, int(token)) if token.isdigit() else (1, token)
            for token in pointer.split("/")[1:]]


def _model_references(value: Any, pointer: str) -> list[Position]:
    """The `EnvRef` / `FileRef` values inside a validated spec, by their JSON pointer."""
    from pydantic import BaseModel

    from converge.specs.common import EnvRef, FileRef

    if isinstance(value, EnvRef | FileRef):
        return [{"pointer": pointer, **value.model_dump(mode="json")}]
    found: list[Position] = []
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            alias = field.serialization_alias or field.alias or name
            found += _model_references(getattr(value, name), f"{pointer}/{escape(alias)}")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _model_references(item, f"{pointer}/{escape(str(key))}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += _model_references(item, f"{pointer}/{index}")
    return found
