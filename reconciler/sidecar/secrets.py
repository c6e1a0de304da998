"""Resolve the secrets of rendered files on this host, at the positions the compiler marked.

Rendered files carry `https://converge-secret.invalid/env/NAME` or `…/file/<quoted path>`
where a target needs a secret (see `compiler/render/secrets.py`, whose pattern this one
mirrors without importing the renderer), and the manifest lists, per file, where those
are: a JSON Pointer into the parsed YAML and the reference (`Candidate.secrets`). The
sidecar replaces exactly those values, after checking each is a double-quoted scalar
holding exactly the reference's placeholder, from what its operator allows (the lookups,
see `converge.reconciler.core.secretaccess`). Placeholder text anywhere else — a rule
annotation, a template, a file the manifest marks nothing in — refuses the whole set:
no text substitution over files, ever. Pure: the lookups are passed in. The secret is
written as a double-quoted scalar, so no secret can change the file's structure.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

PATTERN = re.compile(r"https://converge-secret\.invalid/(env|file)/([A-Za-z0-9_%.~\-]+)")
"""The same pattern as `converge.compiler.render.secrets.PATTERN` (a test keeps them equal)."""
_HOST = "converge-secret.invalid"

Lookup = Callable[[str], str | None]
"""A name (or path) → its secret value, or None when there is none; raises a `LookupError`
when this host's operator does not allow it."""


class SecretError(Exception):
    """A placeholder cannot be resolved; nothing is published."""


@dataclasses.dataclass(frozen=True, slots=True)
class Resolved:
    """The files with every secret position filled, and which of them now hold a secret."""

    files: dict[str, bytes]
    sensitive: frozenset[str]
    """Names of files that hold a resolved secret: written mode 0600."""
    values: frozenset[str] = frozenset()
    """The secret values written: never to leave the host (see `redact`)."""


def placeholder(reference: Mapping[str, str]) -> str:
    """The placeholder text of `{env: NAME}` or `{file: PATH}`, as the compiler writes it."""
    if "env" in reference:
        return f"https://{_HOST}/env/{reference['env']}"
    return f"https://{_HOST}/file/{urllib.parse.quote(reference['file'], safe='')}"


def resolve(files: Mapping[str, bytes], positions: Mapping[str, Sequence[Mapping[str, str]]],
            *, env: Lookup, file: Lookup) -> Resolved:
    """Fill the secret positions of `files` (name → bytes; positions by the same names).

    Raises:
        SecretError: a secret is missing or not allowed here, a position does not hold
            its placeholder, or placeholder text stands where no position is.
    """
    out: dict[str, bytes] = {}
    sensitive: set[str] = set()
    values: set[str] = set()
    for name, data in files.items():
        marked = positions.get(name) or ()
        if not marked and _HOST.encode() not in data.lower():
            out[name] = data
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"{name}: holds a secret placeholder but is not UTF-8") from None
        replaced, used = _fill(name, text, marked, env=env, file=file)
        out[name] = replaced.encode("utf-8")
        sensitive.add(name)
        values.update(used)
    return Resolved(out, frozenset(sensitive), frozenset(values))


def _fill(name: str, text: str, marked: Sequence[Mapping[str, str]], *, env: Lookup,
          file: Lookup) -> tuple[str, list[str]]:
    if marked and not name.endswith((".yaml", ".yml")):
        raise SecretError(f"{name}: the manifest marks secrets in a file that is not YAML")
    root = _compose(name, text) if marked else None
    edits: list[tuple[int, int, str]] = []
    used: list[str] = []
    for position in marked:
        node = _at(root, position["pointer"])
        expected = position.get("prefix", "") + placeholder(position)
        if not isinstance(node, yaml.ScalarNode) or node.style != '"' or (
                node.value != expected):
            raise SecretError(f"{name}: {position['pointer']} does not hold the placeholder "
                              "of its secret as a whole double-quoted value; refusing it")
        value = _lookup(name, position, env=env, file=file)
        if not value.isprintable():
            raise SecretError(f"{name}: secret {_what(position)} holds control characters")
        used.append(value)
        edits.append((node.start_mark.index, node.end_mark.index,
                      json.dumps(position.get("prefix", "") + value, ensure_ascii=False)))
    edits.sort()
    rest, last = [], 0
    for start, end, _ in edits:
        rest.append(text[last:start])
        last = end
    rest.append(text[last:])
    stray = "\0".join(rest).lower().find(_HOST)
    if stray >= 0:
        line = "\0".join(rest)[:stray].count("\n") + 1
        raise SecretError(f"{name}: secret placeholder text at line {line} is not at a "
                          "position the manifest marks as a secret; refusing the set")
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text, used


def _compose(name: str, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise SecretError(f"{name}: not YAML: {error}".splitlines()[0]) from None


def _at(node: yaml.Node | None, pointer: str) -> yaml.Node | None:
    """The node at an RFC 6901 pointer, or None."""
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value
                         if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and (
                int(key) < len(node.value)):
            node = node.value[int(key)]
        else:
            return None
    return node


def _what(position: Mapping[str, Any]) -> str:
    return (f"environment variable {position['env']}" if "env" in position
            else f"file {position['file']}")


def _lookup(name: str, position: Mapping[str, str], *, env: Lookup, file: Lookup) -> str:
    try:
        value = env(position["env"]) if "env" in position else file(position["file"])
    except LookupError as error:  # the operator does not allow it (secretaccess.NotAllowed)
        raise SecretError(f"{name}: secret {error}") from None
    if value is None:
        raise SecretError(f"{name}: secret {_what(position)} is not available on this host")
    return value


def redact(text: str, values: frozenset[str] | set[str]) -> str:
    """`text` with every secret value, and its usual encodings, replaced by `<redacted>`.

    A checker quoting a malformed secret back, or an error naming a URL, must not carry
    it off the host (reports to the server, logs, status).
    """
    forms: set[str] = set()
    for value in values:
        if len(value) < 4:
            continue  # too short to tell apart from ordinary text
        forms.update({value, json.dumps(value, ensure_ascii=False)[1:-1],
                      json.dumps(value)[1:-1], urllib.parse.quote(value, safe=""),
                      urllib.parse.quote(value), urllib.parse.quote_plus(value),
                      repr(value)[1:-1],
                      base64.b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")})
        forms.update(line for line in value.splitlines() if len(line) >= 4)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "<redacted>")
    return text
