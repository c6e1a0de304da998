"""The container image (the repository's Dockerfile), built for real with podman through
`scripts/build-image`: Debian's packages for the base (mmdebstrap, no registry image) and
a wheelhouse built on the host, so nothing inside the build reaches the package index.

The image must print its version, check the example repository, run as a non-root user
and hold no virtual environment, cache or Git data from the checkout; the sidecar variant
must carry promtool, amtool and vmalert that accept what converge compiles. Without podman
or mmdebstrap the tests are skipped locally and fail when ``CI`` is set: in CI the image is
always built. The base image is built once and reused; warm builds take seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "repo-example"
BUILD_IMAGE = ROOT / "scripts" / "build-image"
BASE = "localhost/converge-base:bookworm"
IMAGE = "localhost/converge:test"
SIDECAR = "localhost/converge:test-sidecar"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"]
UID = 10001


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _podman() -> str:
    podman = shutil.which("podman")
    if podman is None:
        _missing("podman is not installed: run scripts/install-tools --with-podman")
        raise AssertionError("unreachable")
    return podman


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def _build(*flags: str) -> None:
    podman = _podman()
    base = _run(podman, "image", "exists", BASE)
    if base.returncode != 0 and shutil.which("mmdebstrap") is None:
        _missing("mmdebstrap is not installed: run scripts/install-tools --with-podman")
    built = _run(str(BUILD_IMAGE), *flags, timeout=900)
    assert built.returncode == 0, (built.stdout[-4000:], built.stderr[-4000:])


@pytest.fixture(scope="module")
def image() -> str:
    _build("--tag", IMAGE)
    return IMAGE


@pytest.fixture(scope="module")
def sidecar_image() -> str:
    _build("--sidecar", "--tag", SIDECAR)
    return SIDECAR


def _in(image: str, *command: str, volume: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    mount = ["--volume", volume] if volume else []
    return _run(_podman(), "run", "--rm", *mount, image, *command)


def _shell(image: str, script: str, volume: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    mount = ["--volume", volume] if volume else []
    return _run(_podman(), "run", "--rm", *mount, "--entrypoint", "/bin/sh", image, "-c", script)


def _in_entrypoint(image: str, entrypoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(_podman(), "run", "--rm", "--entrypoint", entrypoint, image, *args)


# --- the files, without building ----------------------------------------------------------

def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_dockerignore_keeps_the_checkout_out_of_the_build_context() -> None:
    lines = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8")
             .splitlines() if line.strip() and not line.startswith("#")}
    assert "*" in lines  # everything out, then the sources back in
    for name in (".git", ".venv", "**/__pycache__", "**/.mypy_cache", "**/.ruff_cache",
                 "**/.pytest_cache", "**/.hypothesis", "dist", "out", "tests/artifacts",
                 "benchmarks/.generated"):
        assert name in lines, name
    allowed = {line for line in lines if line.startswith("!")}
    assert allowed == {"!pyproject.toml", "!README.md", "!compiler/", "!reconciler/",
                       "!specs/", "!templates/", "!build/wheelhouse/"}


def test_dockerfile_base_names_no_registry_and_labels_the_current_version() -> None:
    text = _dockerfile()
    [base] = re.findall(r"^ARG BASE=(\S+)$", text, flags=re.MULTILINE)
    first = base.split("/")[0]
    assert "/" not in base or not ("." in first or ":" in first or first == "localhost"), base
    assert base.startswith("python:3.11-") and "bookworm" in base, base
    assert set(re.findall(r"^ARG VERSION=(\S+)$", text, flags=re.MULTILINE)) == {VERSION}
    assert re.findall(r"^ARG EXTRAS=(\S*)$", text, flags=re.MULTILINE) == ["daemons"]
    assert text.count('ENTRYPOINT ["converge"]') == 2
    assert text.count("USER 10001:10001") == 2
    # the last stage is what a plain `docker build .` gives: the runtime, not the sidecar
    assert re.findall(r"^FROM .*", text, flags=re.MULTILINE)[-1].endswith(" AS runtime")


# --- the built image ------------------------------------------------------------------------

def test_the_build_context_holds_only_the_sources(image: str, tmp_path: Path) -> None:
    """A probe build over the same context and .dockerignore (on the base the `image`
    fixture made sure of) lists what the image's build sees."""
    podman = _podman()
    probe = f"localhost/converge-context-probe:{uuid.uuid4().hex[:12]}"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {BASE}\nCOPY . /context\n", encoding="utf-8")
    try:
        built = _run(podman, "build", "--quiet", "--file", str(dockerfile), "--tag", probe,
                     str(ROOT), timeout=300)
        assert built.returncode == 0, built.stderr[-4000:]
        listed = _run(podman, "run", "--rm", "--entrypoint", "/usr/bin/find", probe,
                      "/context", "-mindepth", "1")
        assert listed.returncode == 0, listed.stderr
    finally:
        _run(podman, "rmi", "--force", probe)
    paths = [p.removeprefix("/context/") for p in listed.stdout.split()]
    assert "pyproject.toml" in paths and "compiler/__init__.py" in paths
    top = {p.split("/")[0] for p in paths}
    assert top <= {"pyproject.toml", "README.md", "compiler", "reconciler", "specs",
                   "templates", "build"}, top
    for path in paths:
        parts = path.split("/")
        assert not {".venv", ".git", "__pycache__", ".mypy_cache", ".ruff_cache",
                    ".pytest_cache", ".hypothesis"} & set(parts), path
        assert parts[0] != "build" or parts[:2] in (["build"], ["build", "wheelhouse"]), path
        assert not path.endswith(".pyc"), path


def test_the_image_prints_its_version(image: str) -> None:
    shown = _in(image, "--version")
    assert shown.returncode == 0, shown.stderr
    # the wording is the CLI's; the image must name converge and pyproject's version
    assert shown.stdout.startswith("converge"), shown.stdout
    assert re.search(rf"(?<![\w.]){re.escape(VERSION)}(?![\w.])", shown.stdout), shown.stdout


def test_the_image_carries_the_daemons(image: str) -> None:
    """EXTRAS=daemons: the daemons' commands load (without the extra each one only says
    which `pip install` is missing, and exits 2)."""
    shown = _shell(image, "set -e; for c in serve sidecar notifier healer scaler watch demo; "
                          "do converge $c --help | head -n 1; done")
    assert shown.returncode == 0, (shown.stdout, shown.stderr)
    assert [line.split()[:2] for line in shown.stdout.splitlines()] == [
        ["Usage:", "converge"]] * 7, shown.stdout
    assert "daemons extra" not in shown.stderr, shown.stderr


def test_the_image_checks_the_example_repository(image: str) -> None:
    checked = _in(image, "check", "/specs", volume=f"{EXAMPLE}:/specs:ro")
    assert checked.returncode == 0, (checked.stdout, checked.stderr)


def test_the_image_runs_as_a_non_root_user(image: str) -> None:
    who = _in_entrypoint(image, "id", "-u")
    assert who.returncode == 0, who.stderr
    assert who.stdout.strip() == str(UID)
    home = _shell(image, "pwd; test -w .")
    assert home.returncode == 0 and home.stdout.strip() == "/var/lib/converge", home


def test_the_image_holds_the_venv_and_nothing_of_the_checkout(image: str) -> None:
    found = _shell(image, "test ! -e /src && test ! -e /dist && ls -A /opt; "
                          "find / -xdev \\( -name .venv -o -name .git -o -name .mypy_cache "
                          "-o -name .pytest_cache -o -name '*.egg-info' \\) -print; "
                          "for c in git converge python3; do command -v \"$c\"; done")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.split()
    assert lines[0] == "converge", lines  # /opt holds the venv alone
    assert lines[1:] == ["/usr/bin/git", "/opt/converge/bin/converge",
                         "/opt/converge/bin/python3"], lines
    labels = _run(_podman(), "image", "inspect", "--format",
                  "{{index .Labels \"org.opencontainers.image.version\"}}", image)
    assert labels.stdout.strip() == VERSION


def test_the_sidecar_image_checks_a_compiled_bundle_with_the_real_tools(
        sidecar_image: str) -> None:
    script = """set -e
converge --version
converge compile /specs -o /tmp/out
promtool check rules /tmp/out/prometheus/rules/*.yaml
amtool check-config /tmp/out/alertmanager/alertmanager.yaml
set --
for rule in /tmp/out/vmalert/rules/*.yaml; do set -- "$@" "-rule=$rule"; done
vmalert -dryRun -loggerLevel=WARN "$@"
test -f /usr/share/prometheus/alertmanager/default.tmpl
id -u
"""
    checked = _shell(sidecar_image, script, volume=f"{EXAMPLE}:/specs:ro")
    assert checked.returncode == 0, (checked.stdout[-4000:], checked.stderr[-4000:])
    assert checked.stdout.splitlines()[-1] == str(UID)
