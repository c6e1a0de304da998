"""Secrets are references, never values.

Passwords, tokens, API keys and webhook URLs that carry a token are written as
`{env: NAME}` or `{file: PATH}` and resolved on the host that uses them (the sidecar or
the notifier), so they never enter Git or a compiled bundle. Fields typed as secrets
are checked as specs are read; here, plain URLs are checked for embedded credentials
or token-like query parameters.

Fix: move the value into an environment variable or a file and reference it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

from converge.compiler.checks.context import Context
from converge.compiler.diagnostics import Diagnostic, Severity
from converge.compiler.model import Model

CODE = "secret/literal"
SEVERITY = Severity.ERROR
SUMMARY = "a secret is written as a value instead of a reference"
_SECRET_PARAMS = frozenset({"token", "access_token", "key", "secret", "sign", "password",
                            "api_key", "apikey", "auth"})


def check(model: Model, ctx: Context) -> Iterator[Diagnostic]:
    for channel in model.channels:
        url = getattr(channel.spec, "url", None)
        if not isinstance(url, str):
            continue
        parsed = urllib.parse.urlsplit(url)
        params = {k.lower() for k, _ in urllib.parse.parse_qsl(parsed.query)}
        if parsed.password or params & _SECRET_PARAMS:
            yield ctx.diag(channel.origin.child("url"), CODE,
                           "this URL carries a credential",
                           hint="use `urlSecret: {env: NAME}` for URLs that carry a token")
