"""What an importer returns: spec files to write, env vars to set, notes for the user.

Importers are pure: they take the text of foreign configs and return these values; the
command writes the files and prints the rest.
"""

from __future__ import annotations

import dataclasses
from typing import Any

Document = dict[str, Any]
"""One spec document as plain values, keys in the order they are written."""

Comments = dict[int | None, tuple[str, ...]]
"""Comment lines (each starting with `#`) above a document (None) or one of its rules."""


@dataclasses.dataclass(frozen=True, slots=True)
class OutputFile:
    """A spec file to write under the output directory."""

    path: str
    """Relative to the output directory, '/'-separated."""
    documents: tuple[Document, ...]
    header: str = ""
    """Comment text written above the first document (without `#`)."""
    summary: str = ""
    """What the file holds, for the command's report, e.g. "2 groups, 31 rules"."""
    comments: tuple[Comments, ...] = ()
    """Per document, the source's comments to write above it (key None) or above its
    `spec.rules[i]` (key i)."""


@dataclasses.dataclass(frozen=True, slots=True)
class EnvVar:
    """An environment variable a secret reference now reads. Never holds the value."""

    name: str
    purpose: str
    """Where the secret came from, e.g. "receiver 'ops': slack api_url"."""


@dataclasses.dataclass(frozen=True, slots=True)
class Imported:
    """The outcome of one import."""

    files: tuple[OutputFile, ...]
    env: tuple[EnvVar, ...] = ()
    notes: tuple[str, ...] = ()
    """The import report: every change from the source (renames, dropped fields, defaults
    added, changed shapes); empty for a faithful import (`--strict` requires that)."""
    versions: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    """Lowest target versions that accept what was imported (for a new converge.yaml)."""
