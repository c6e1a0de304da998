"""Turn secrets found in foreign configs into references, and remember which ones.

A literal secret (an API key, a password, a URL with a token in it) must never reach a
written spec. `Secrets.env_ref` replaces it with `{env: NAME}`, where NAME is generated
from where the secret was found; the same value found twice gets the same variable. The
values themselves are forgotten as soon as they have been compared: only the names and
what each one is for are kept, to tell the user what to set.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse

from converge.compiler.importers import names
from converge.compiler.importers.result import EnvVar

_SECRET_WORDS = re.compile(r"token|key|secret|sign|pass|auth|sig|credential|session",
                           re.IGNORECASE)
_TOKEN_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{20,}$")
_TOKEN_HOSTS = ("hooks.slack.com", "discord.com", "discordapp.com", "office.com", "feishu.cn",
                "larksuite.com", "dingtalk.com", "qyapi.weixin.qq.com", "pagerduty.com",
                "opsgenie.com", "api.telegram.org")
"""Services whose webhook URLs are credentials themselves."""
_SECRET_HEADERS = re.compile(r"auth|token|key|secret|cookie|pass|credential|session",
                             re.IGNORECASE)

SecretRef = dict[str, str]


class Secrets:
    """Collects the environment variables that replace literal secrets."""

    def __init__(self) -> None:
        self._by_digest: dict[str, str] = {}
        self._env: list[EnvVar] = []

    def env_ref(self, value: str, *, parts: tuple[str, ...], purpose: str) -> SecretRef:
        """`{env: NAME}` for a literal secret; NAME is `CONVERGE_<PARTS>`, made unique."""
        digest = hashlib.sha256(value.encode()).hexdigest()
        known = self._by_digest.get(digest)
        if known is not None:
            return {"env": known}
        base = names.env_name(*parts)
        taken = {var.name for var in self._env}
        name, counter = base, 1
        while name in taken:
            counter += 1
            name = f"{base}_{counter}"
        self._by_digest[digest] = name
        self._env.append(EnvVar(name, purpose))
        return {"env": name}

    def register(self, name: str, *, purpose: str) -> SecretRef:
        """`{env: NAME}` for a variable the source already named (`${NAME}` placeholders)."""
        if all(var.name != name for var in self._env):
            self._env.append(EnvVar(name, purpose))
        return {"env": name}

    @property
    def env(self) -> tuple[EnvVar, ...]:
        """The variables handed out so far, in order."""
        return tuple(self._env)


def file_ref(path: str) -> SecretRef:
    """`{file: PATH}` for a secret the source already read from a file."""
    return {"file": path}


def url_has_credentials(url: str) -> bool:
    """Whether a URL may carry a credential: user info, a token-like query parameter, or a
    path segment that looks like a token (long, letters and digits), or a service whose
    webhook URLs are credentials (Slack, Discord, Teams, Feishu, …)."""
    try:
        parsed = urllib.parse.urlsplit(url)
        has_user = parsed.password is not None or parsed.username is not None
        host = (parsed.hostname or "").lower()
    except ValueError:
        return True  # unparsable: treat it as secret rather than risk writing it
    params = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    token_host = any(host == h or host.endswith(f".{h}") for h in _TOKEN_HOSTS)
    return (has_user or token_host or any(_SECRET_WORDS.search(key) for key, _ in params)
            or any(_TOKEN_SEGMENT.match(part) for part in parsed.path.split("/")))


def header_is_secret(name: str) -> bool:
    """Whether an HTTP header's value should be treated as a secret."""
    return bool(_SECRET_HEADERS.search(name))
