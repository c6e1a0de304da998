"""The `BundleSource` protocol and the `--source` syntax.

    URL                          the config server (http:// or https://)
    git+URL[#branch][:subdir]    a Git repository, compiled here
    dir:PATH                     a directory holding a compiled bundle (`converge compile`)
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Protocol

from converge.reconciler.sidecar.bundles import Candidate


class SourceError(Exception):
    """The source cannot be reached or read: the sidecar keeps what it has."""


class BundleSource(Protocol):
    """Offers the current bundle of one target."""

    description: str

    def fetch(self, known: str | None) -> Candidate | None:
        """The current verified bundle, or None when it is still `known` (a target hash).

        Raises:
            SourceError: the source is down or unreadable.
            BundleError: what it offers fails verification (or does not compile).
        """

    def close(self) -> None:
        """Release connections and files."""


@dataclasses.dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: Literal["server", "git", "dir"]
    location: str
    """The server URL, the Git URL or the directory path."""
    branch: str | None = None
    subdir: str | None = None


def parse(text: str) -> SourceSpec:
    """Parse a `--source` value.

    Raises:
        ValueError: it is none of the three forms.
    """
    if text.startswith("dir:"):
        if not text[4:]:
            raise ValueError("dir: needs a path")
        return SourceSpec("dir", text[4:])
    if text.startswith("git+"):
        url, branch, subdir = text[4:], None, None
        if "#" in url:
            url, fragment = url.split("#", 1)
            branch, _, rest = fragment.partition(":")
            subdir = rest or None
            branch = branch or None
        elif url.rfind(":") > url.rfind("/"):
            url, subdir = url.rsplit(":", 1)
        if not url:
            raise ValueError("git+ needs a repository URL")
        if subdir is not None and (subdir.startswith("/") or ".." in subdir.split("/")):
            raise ValueError(f"the subdirectory must be relative: {subdir!r}")
        return SourceSpec("git", url, branch, subdir)
    if text.startswith(("http://", "https://")):
        urls = [url.strip().rstrip("/") for url in text.split(",")]
        if not all(url.startswith(("http://", "https://")) for url in urls):
            raise ValueError(f"--source: every server URL of {text!r} must start with "
                             "http:// or https:// (several are separated by commas)")
        return SourceSpec("server", ",".join(urls))
    raise ValueError(f"--source must be a server URL, git+URL or dir:PATH, not {text!r}")
