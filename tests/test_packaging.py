"""The distribution users install: one `converge` namespace, a lean core, the daemons as an
extra, and the metadata package indexes show.

The slow test builds the wheel and installs it, without extras, into a fresh virtual
environment outside the checkout, then runs it as a user would.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from converge.compiler.commands import about, extras
from converge.compiler.commands.main import main

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("compiler", "reconciler", "specs", "templates")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _package_folders() -> set[str]:
    return {"converge." + ".".join(init.parent.relative_to(ROOT).parts)
            for folder in FOLDERS for init in (ROOT / folder).rglob("__init__.py")
            if "__pycache__" not in init.parts}


def test_every_package_folder_is_installed_under_the_namespace() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == _package_folders(), "pyproject.toml [tool.setuptools] packages is stale"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {
        f"converge.{folder}": folder for folder in FOLDERS}


def test_the_core_leaves_the_daemons_dependencies_to_the_extra() -> None:
    project = PYPROJECT["project"]
    core = " ".join(project["dependencies"]).lower()
    daemons = " ".join(project["optional-dependencies"]["daemons"]).lower()
    for distribution in ("aiohttp", "httpx", "prometheus-client", "docker", "watchdog", "rich"):
        assert distribution not in core and distribution in daemons
    modules = {"prometheus-client": "prometheus_client", "psycopg[binary]": "psycopg",
               "psycopg-pool": "psycopg_pool"}
    listed = {line.split(">")[0].split("=")[0].strip().lower()
              for line in project["optional-dependencies"]["daemons"]}
    assert {modules.get(name, name) for name in listed} == set(extras.MODULES)


def test_a_daemon_command_without_the_extra_says_which_pip_line_to_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extras, "missing_modules", lambda: ["aiohttp", "docker"])
    runner = CliRunner()
    for command in sorted(extras.DAEMON_COMMANDS):
        done = runner.invoke(main, [command, "--bundle", "out", "--help"])
        assert done.exit_code == 2, (command, done.output)
        assert extras.INSTALL in done.stderr and "Traceback" not in done.output
        assert f"`converge {command}` needs the daemons extra" in done.stderr
    listing = runner.invoke(main, ["--help"])
    assert listing.exit_code == 0 and "not installed" in listing.output


def test_the_version_names_the_commit_of_a_checkout(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["--version"])
    assert done.exit_code == 0
    assert done.output.startswith(f"converge {about.version()}")
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert f"(commit {head[:12]}" in done.output
    assert about.commit(tmp_path) is None  # not a checkout: an installed wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "--disable-pip-version-check", "-w", str(out), str(ROOT)],
                   check=True, cwd=out, timeout=600)
    (found,) = out.glob("converge_gitops-*.whl")
    return found


def test_the_wheel_holds_one_namespace_the_licence_and_the_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(info))
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"converge"}
    assert "converge/__init__.py" not in names  # a namespace others cannot shadow by accident
    for folder in FOLDERS:
        assert f"converge/{folder}/__init__.py" in names
    assert "converge/templates/rules.yaml.j2" in names
    assert "converge/specs/schema/manifest.json" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "daemons" in metadata.get_all("Provides-Extra")
    assert any(url.startswith("Source, https://") for url in metadata.get_all("Project-URL"))
    assert "prometheus" in metadata["Keywords"]
    assert "Topic :: System :: Monitoring" in metadata.get_all("Classifier")
    requires = " ".join(metadata.get_all("Requires-Dist"))
    assert "aiohttp" in requires and 'extra == "daemons"' in requires


@pytest.fixture(scope="module")
def lean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("lean")
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=120)
    pip = [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "-q",
           "--disable-pip-version-check"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=600, cwd=home)
    yield home


def _run(venv_home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "CONVERGE_DEBUG")}
    env["PATH"] = f"{venv_home / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(list(argv), capture_output=True, text=True, cwd=venv_home, env=env,
                          timeout=120, check=False)


@pytest.mark.parametrize("name", ["compiler", "reconciler", "specs", "templates", "aiohttp",
                                  "docker", "watchdog", "rich", "prometheus_client"])
def test_the_installed_wheel_puts_no_generic_name_in_site_packages(
        lean_venv: Path, name: str) -> None:
    done = _run(lean_venv, "python", "-c", f"import {name}")
    assert done.returncode == 1 and "ModuleNotFoundError" in done.stderr, done


def test_the_lean_install_checks_and_compiles_the_example(lean_venv: Path) -> None:
    checked = _run(lean_venv, "converge", "check", str(ROOT / "repo-example"))
    assert checked.returncode == 0, checked.stderr
    compiled = _run(lean_venv, "converge", "compile", str(ROOT / "repo-example"), "-o",
                    str(lean_venv / "out"))
    assert compiled.returncode == 0, compiled.stderr
    assert (lean_venv / "out" / "manifest.json").is_file()
    version = _run(lean_venv, "converge", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"converge {about.version()}"
    imported = _run(lean_venv, "python", "-c", "import converge.compiler.commands.main as m; "
                    "import converge.specs.kinds, converge.templates; print(m.__name__)")
    assert imported.returncode == 0, imported.stderr


@pytest.mark.parametrize("command", sorted(extras.DAEMON_COMMANDS))
def test_the_lean_install_names_the_extra_for_each_daemon(lean_venv: Path, command: str) -> None:
    done = _run(lean_venv, "converge", command, "--listen", "127.0.0.1:1")
    assert done.returncode == 2, done
    assert extras.INSTALL in done.stderr and "Traceback" not in done.stderr


def test_every_python_m_command_the_docs_give_runs() -> None:
    """`python -m converge.…` lines in the docs, README and code name runnable modules."""
    pattern = re.compile(r"python3? -m (converge(?:\.[a-z_]+)+)")
    texts = [path.read_text(encoding="utf-8") for path in
             [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
              *(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))]]
    modules = {match for text in texts for match in pattern.findall(text)}
    assert len(modules) >= 3, modules
    for module in sorted(modules):
        done = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                              cwd=ROOT / "docs", timeout=120, check=False)
        assert done.returncode == 0 and done.stdout, (module, done.stderr[-2000:])
