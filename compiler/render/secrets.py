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
