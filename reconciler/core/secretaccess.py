"""Which secrets a daemon may read on its host: only what its operator allows.

A spec names secrets (`{env: NAME}`, `{file: PATH}`), but whoever can merge specs must not
be able to make a host read any variable or file it likes (the server's token, an SSH
key) and hand it to a target, a channel or a container. Each daemon that resolves
secrets (sidecar, notifier, scaler) resolves a reference only when its operator allowed
it:

* files: `--secrets-dir DIR` (default `/etc/converge/secrets`, the docs' examples'):
  a reference is a name relative to DIR or an absolute path inside DIR, and must still
  be inside DIR once every symbolic link is resolved;
* variables: `--secret-env NAME` (repeatable) or `--secret-env-prefix PREFIX`
  (repeatable); none by default.

A reference outside the allowance raises `NotAllowed` naming the flag, so a failed sync or
a blocked channel says how to allow it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

DEFAULT_DIR = Path("/etc/converge/secrets")
"""Where the docs' examples keep secret files; `--secrets-dir` changes it."""

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["DEFAULT_DIR", "NotAllowed", "SecretAccess", "from_options", "options"]


class NotAllowed(LookupError):
    """This host's operator does not allow the reference."""


@dataclasses.dataclass(frozen=True, slots=True)
class SecretAccess:
    """What this host's operator allows a spec's secret references to read."""

    directory: Path | None = DEFAULT_DIR
    """Files only inside it (None: no file)."""
    env_names: frozenset[str] = frozenset()
    env_prefixes: tuple[str, ...] = ()
    environ: Mapping[str, str] = dataclasses.field(default_factory=lambda: os.environ)

    def allows_env(self, name: str) -> bool:
        return name in self.env_names or any(name.startswith(p) for p in self.env_prefixes)

    def env(self, name: str) -> str | None:
        """The variable's value, None when unset.

        Raises:
            NotAllowed: the operator does not allow this variable.
        """
        if not self.allows_env(name):
            raise NotAllowed(f"environment variable {name} is not allowed on this host "
                              "(allow it with --secret-env NAME or --secret-env-prefix)")
        return self.environ.get(name)

    def path(self, reference: str) -> Path:
        """The file a `{file: …}` reference names, checked to be inside the directory.

        Raises:
            NotAllowed: no directory is allowed, or the file is outside it.
        """
        if self.directory is None:
            raise NotAllowed(f"file {reference} is not allowed on this host: no "
                              "--secrets-dir")
        root = Path(os.path.realpath(self.directory))
        candidate = Path(reference)
        if not candidate.is_absolute():
            candidate = Path(self.directory) / candidate
        resolved = Path(os.path.realpath(candidate))
        if resolved == root or not resolved.is_relative_to(root):
            raise NotAllowed(f"file {reference} is not allowed on this host: it is "
                              f"outside --secrets-dir {self.directory}")
        return resolved

    def file(self, reference: str) -> str | None:
        """The file's text without its trailing newline, None when it cannot be read.

        Raises:
            NotAllowed: the operator does not allow this file.
        """
        path = self.path(reference)
        try:
            return path.read_bytes().decode("utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            return None


def options(function: F) -> F:
    """The `--secrets-dir`, `--secret-env` and `--secret-env-prefix` options of a daemon."""
    function = click.option(
        "--secret-env-prefix", "secret_env_prefixes", multiple=True, metavar="PREFIX",
        help="Allow secret references to environment variables starting with PREFIX "
             "(repeatable).")(function)
    function = click.option(
        "--secret-env", "secret_env_names", multiple=True, metavar="NAME",
        help="Allow the secret reference {env: NAME} (repeatable); none by default.")(function)
    function = click.option(
        "--secrets-dir", type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_DIR, show_default=True,
        help="Allow secret references {file: PATH} only to files inside this directory "
             "(PATH relative to it, or absolute inside it).")(function)
    return function


def from_options(*, secrets_dir: Path | None, secret_env_names: Sequence[str],
                 secret_env_prefixes: Sequence[str],
                 environ: Mapping[str, str] | None = None) -> SecretAccess:
    """The `SecretAccess` the options allow."""
    return SecretAccess(directory=secrets_dir, env_names=frozenset(secret_env_names),
                        env_prefixes=tuple(p for p in secret_env_prefixes if p),
                        environ=os.environ if environ is None else environ)
