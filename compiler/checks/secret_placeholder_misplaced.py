"""A spec value holds the text of a secret placeholder.

Rendered files carry `https://converge-secret.invalid/env/NAME` or `…/file/PATH` where a
secret reference (`{env: NAME}`, `{file: PATH}`) stands, and each host resolves those
positions, and only those, from what its operator allows (see docs/bundle.md and
docs/security.md). The same text written anywhere else in a spec — a rule annotation, a
label, a URL, a message template — is refused: it could only be an attempt to make a
host write its secret where it was never meant to go (a rule annotation is served by
Prometheus's unauthenticated `/api/v1/rules`). Escapes do not help: the check reads the
values as loaded.

Fix: write the secret as a reference in a field that takes one; never copy a
placeholder into a spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.loader import Document
from converge.compiler.model import Model, Origin

CODE = "secret/placeholder-misplaced"
SEVERITY = Severity.ERROR
SUMMARY = "a spec holds secret placeholder text outside a secret reference"
_HOST = "converge-secret.invalid"


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for document in _documents(model):
        for path, text in _strings(document.body, ()):
            offset = text.lower().find(_HOST)
            if offset >= 0:
                yield ctx.diag_in_value(
                    Origin(document, path), offset, CODE,
                    "secret placeholder text in a spec value: only a secret reference "
                    "({env: NAME} or {file: PATH}) becomes a placeholder",
                    value=text, hint="write the secret as a reference in a field that "
                    "takes one")


def _documents(model: Model) -> list[Document]:
    """Every document the model was built from, once, in file order."""
    origins: list[Origin | None] = [model.project.origin, *model.extra_projects,
                                    *model.extra_routings]
    origins += [g.origin for g in model.groups]
    origins += [n.origin for n in (*model.channels, *model.pools, *model.healing)]
    if model.routing is not None:
        origins.append(model.routing.origin)
    found: dict[tuple[str, int], Document] = {}
    for origin in origins:
        if origin is not None:
            found.setdefault((origin.document.path, origin.document.index), origin.document)
    return [found[key] for key in sorted(found)]


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...],
                                                                        str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        # a reference's own value is no exception: no variable name can hold the text,
        # and a file path holding it (a one-key `{file: …}` could as well be a label map)
        # is no path anyone needs
        for key, item in value.items():
            if isinstance(key, str) and _HOST in key.lower():
                yield (*path, key), key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
