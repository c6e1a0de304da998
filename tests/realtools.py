"""Run the real Prometheus, Alertmanager and vmalert validators from tests.

The tools come from Debian 12 packages installed by ``scripts/install-tools``:
``promtool`` (prometheus 2.42), ``amtool`` (prometheus-alertmanager 0.25) and
``vmalert`` (victoria-metrics 1.79). A test that needs a missing tool is skipped
locally, but fails when the ``CI`` environment variable is set: in CI a real-tool
test must never pass by skipping.

Import it as ``import realtools`` (``tests/`` has no ``__init__.py``, so pytest puts it
on ``sys.path``). Mark tests that use it with ``@pytest.mark.realtools``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = [
    "TOOLS",
    "amtool_check_config",
    "promtool_check_rules",
    "run",
    "tool",
    "vmalert_dry_run",
]

#: The tools this module knows how to find.
TOOLS = ("promtool", "amtool", "vmalert")

#: Searched after ``PATH``: where Debian packages and ``scripts/install-tools`` put them.
_EXTRA_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/sbin")

#: Characters vmalert's ``-rule`` flag does not take literally: it splits values on commas
#: and expands glob patterns.
_VMALERT_SPECIAL = frozenset(",*?[")


def tool(name: str) -> str:
    """Return the absolute path of the real tool ``name``.

    Looks on ``PATH`` and then in /usr/bin, /usr/local/bin and /usr/sbin. When the
    tool is not found the calling test fails if ``CI`` is set (non-empty) and is
    skipped otherwise.
    """
    found = shutil.which(name)
    if found is None:
        for directory in _EXTRA_DIRS:
            candidate = Path(directory, name)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found = str(candidate)
                break
    if found is not None:
        return os.path.abspath(found)
    message = f"{name} is not installed: run scripts/install-tools"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real tool ``name`` with ``args`` and return the result without checking it.

    Output is captured as text; stdin is closed so a tool can never wait for input.
    """
    return subprocess.run(
        [tool(name), *args],
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def _existing(files: tuple[Path, ...]) -> list[str]:
    """Return ``files`` as strings, insisting there is at least one and that each exists."""
    if not files:
        raise ValueError("no files given")
    for file in files:
        if not Path(file).is_file():
            raise FileNotFoundError(f"no such file: {file}")
    return [str(file) for file in files]


def promtool_check_rules(*files: Path) -> subprocess.CompletedProcess[str]:
    """``promtool check rules FILE...``: exit code 0 when every file is valid, else 1.

    promtool reports ``SUCCESS`` on stdout and ``FAILED`` with the reason on stderr.
    """
    return run("promtool", "check", "rules", *_existing(files))


def amtool_check_config(file: Path) -> subprocess.CompletedProcess[str]:
    """``amtool check-config FILE``: exit code 0 when valid, else 1 (reason on stdout)."""
    return run("amtool", "check-config", *_existing((file,)))


def vmalert_dry_run(*files: Path) -> subprocess.CompletedProcess[str]:
    """``vmalert -dryRun -loggerLevel=WARN -rule=FILE...``: validate vmalert rule files.

    vmalert 1.79 needs no ``-datasource.url`` or ``-notifier.url`` in dry-run mode.
    It exits 0 when the files are valid and 255 otherwise, with the reason in a
    ``fatal`` log line on stderr (e.g. ``unknown fields in rule: keep_firing_for``).

    vmalert silently ignores a ``-rule`` path that matches no file as long as another
    one has rules, splits ``-rule`` values on commas and expands glob patterns, so
    missing files raise :class:`FileNotFoundError` and such paths :class:`ValueError`.
    """
    paths = _existing(files)
    for path in paths:
        if _VMALERT_SPECIAL.intersection(path):
            raise ValueError(f"vmalert -rule cannot take this path literally: {path}")
    return run("vmalert", "-dryRun", "-loggerLevel=WARN", *(f"-rule={path}" for path in paths))
