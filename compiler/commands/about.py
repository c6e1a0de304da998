"""What `converge --version` prints: the installed version and, when converge runs from a
Git checkout (an editable install), the commit it runs."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "converge-gitops"


def version() -> str:
    """The installed distribution's version (0.0.0 when it is not installed)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def commit(checkout: Path | None = None) -> str | None:
    """The short commit of the Git checkout converge runs from (`-dirty` with local
    changes), or None for an installed wheel or when git cannot tell."""
    root = checkout or Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or not (root / "compiler" / "commands").is_dir():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty",
                               "--abbrev=12", "--match=NeVeRmAtCh"],
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and text else None


def describe() -> str:
    """`converge 0.1.0` or `converge 0.1.0 (commit 0123456789ab-dirty)`."""
    found = commit()
    return f"converge {version()}" + (f" (commit {found})" if found else "")
