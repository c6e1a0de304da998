"""Shared fixtures: snapshots live in the top-level `snapshots/` folder; CLI runner;
a harness assertion that no diagnostic anywhere lacks a position."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from engine import containers, engine  # noqa: F401  (fixtures: a real container engine)
from hypothesis import settings as hypothesis_settings
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.amber import AmberSnapshotExtension
from syrupy.location import PyTestLocation

from converge.compiler import pipeline
from converge.compiler.diagnostics import Diagnostic
from converge.compiler.loader import split_lines

# CI runs property tests derandomized: a green run stays green, and a failure there is a
# real regression, not a new random draw. Locally, every run explores new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "repo-example"


class TopLevelSnapshots(AmberSnapshotExtension):
    """Keep every snapshot under `snapshots/<test module>/` at the repository root."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(ROOT / "snapshots" / Path(test_location.filepath).stem)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(TopLevelSnapshots)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def assert_positioned(diagnostics: list[Diagnostic], texts: dict[str, str]) -> None:
    """Every diagnostic has a line and column inside its file."""
    for d in diagnostics:
        assert d.path in texts, d
        lines = split_lines(texts[d.path])
        assert 1 <= d.line <= max(1, len(lines)), d
        assert 1 <= d.column <= len(lines[d.line - 1]) + 1, (d, lines[d.line - 1])


@pytest.fixture(autouse=True)
def _every_diagnostic_is_positioned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Wrap the pipeline so that any test producing an unpositioned diagnostic fails."""
    real = pipeline.check

    def checked(*args: Any, **kwargs: Any) -> pipeline.CheckResult:
        result = real(*args, **kwargs)
        assert_positioned(result.diagnostics, result.texts)
        return result

    monkeypatch.setattr(pipeline, "check", checked)
    yield


@pytest.fixture(autouse=True, scope="session")
def _private_cache_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """converge's per-file cache (`compiler.cache`) defaults to the user's cache directory:
    tests (and the processes they start) use one of their own instead."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL cluster for the session (tests/postgres_harness.py), stopped and
    removed at teardown. Skips without the binaries, fails under CI."""
    import postgres_harness

    with postgres_harness.cluster() as running:
        yield running


@pytest.fixture
def postgres_url(postgres: Any) -> str:
    """The URL of a new, empty database in the session's cluster."""
    url: str = postgres.create_database()
    return url
