"""Resolve the secret placeholders of rendered files on this host, never anywhere else.

Rendered files carry `https://converge-secret.invalid/env/NAME` or `…/file/<quoted path>`
where a target needs a secret (see `compiler/render/secrets.py`, whose pattern this one
mirrors without importing the renderer). The sidecar replaces each from its own
environment or files just before publishing. Pure: the lookups are passed in. In YAML the
compiler writes a placeholder as a whole double-quoted scalar; the secret replaces it as a
double-quoted scalar too, so no secret can change the file's structure.
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping

PATTERN = re.compile(r"https://converge-secret\.invalid/(env|file)/([A-Za-z0-9_%.~\-]+)")
"""The same pattern as `converge.compiler.render.secrets.PATTERN` (a test keeps them equal)."""

Lookup = Callable[[str], str | None]
"""A name (or path) → its secret value, or None when there is none."""


class SecretError(Exception):
    """A placeholder cannot be resolved; nothing is published."""


@dataclasses.dataclass(frozen=True, slots=True)
class Resolved:
    """The files with every placeholder replaced, and which of them now hold a secret."""

    files: dict[str, bytes]
    sensitive: frozenset[str]
    """Names of files that hold a resolved secret: written mode 0600."""


def resolve(files: Mapping[str, bytes], *, env: Lookup, file: Lookup) -> Resolved:
    """Replace every placeholder in `files` (name → bytes).

    Raises:
        SecretError: a secret is missing, or cannot be written safely where it stands.
    """
    out: dict[str, bytes] = {}
    sensitive: set[str] = set()
    for name, data in files.items():
        if b"converge-secret.invalid" not in data:
            out[name] = data
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"{name}: holds a secret placeholder but is not UTF-8") from None
        replaced = _replace(name, text, env=env, file=file)
        out[name] = replaced.encode("utf-8")
        sensitive.add(name)
    return Resolved(out, frozenset(sensitive))


def _replace(name: str, text: str, *, env: Lookup, file: Lookup) -> str:
    yaml_file = name.endswith((".yaml", ".yml"))

    def one(match: re.Match[str]) -> str:
        kind, raw = match.group(1), match.group(2)
        key = raw if kind == "env" else urllib.parse.unquote(raw)
        value = (env if kind == "env" else file)(key)
        if value is None:
            where = f"environment variable {key}" if kind == "env" else f"file {key}"
            raise SecretError(f"{name}: secret {where} is not available on this host")
        if not yaml_file:
            return value
        quoted = match.start() > 0 and text[match.start() - 1] == '"' and (
            text[match.end():match.end() + 1] == '"')
        if not quoted:
            raise SecretError(f"{name}: secret {kind} {key} is not a whole quoted value; "
                              "refusing to splice it into YAML")
        if not value.isprintable():
            raise SecretError(f"{name}: secret {kind} {key} holds control characters")
        return json.dumps(value, ensure_ascii=False)[1:-1]

    return PATTERN.sub(one, text)


def file_lookup(read: Callable[[str], bytes]) -> Lookup:
    """A `Lookup` over files: their text without the trailing newline, None if unreadable."""

    def lookup(path: str) -> str | None:
        try:
            return read(path).decode("utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            return None

    return lookup


def env_lookup(environ: Mapping[str, str]) -> Lookup:
    """A `Lookup` over an environment mapping."""
    return environ.get
