"""Names for imported things: spec names, file stems and environment variable names.

Foreign configs name groups and receivers freely ("Node exporter / disks", "team-X
pager"); converge names are `[a-z0-9-]`, at most 63 characters and unique per kind. The
`Names` allocator turns each source name into such a name, keeping them unique with
`-2`, `-3`, … suffixes, deterministically in the order the sources are read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME = 63
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_NOT_ENV = re.compile(r"[^A-Z0-9]+")


def slug(text: str, *, fallback: str) -> str:
    """A valid resource name close to `text`: lower-case ASCII, digits and '-'.

    Accents are dropped ("Déjà vu" → "deja-vu"); other characters become '-'.
    Returns `fallback` when nothing usable is left.
    """
    name = _NOT_NAME.sub("-", _ascii(text).lower()).strip("-")
    name = name[:MAX_NAME].rstrip("-")
    return name or fallback


def env_name(*parts: str) -> str:
    """An environment variable name from parts: `CONVERGE_OPS_SLACK_API_URL`."""
    words = [_NOT_ENV.sub("_", _ascii(part).upper()).strip("_") for part in parts]
    return "_".join(["CONVERGE", *(word for word in words if word)])


class Names:
    """Allocates unique names: the first `ops` is `ops`, the next `ops-2`, then `ops-3`."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def allocate(self, text: str, *, fallback: str) -> str:
        """A unique name derived from `text` (see `slug`), recorded as taken."""
        base = slug(text, fallback=fallback)
        name, counter = base, 1
        while name in self._taken:
            counter += 1
            suffix = f"-{counter}"
            name = base[: MAX_NAME - len(suffix)].rstrip("-") + suffix
        self._taken.add(name)
        return name


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
