"""`converge fmt`: rewrite spec files in the canonical style of `converge.compiler.fmt`.

The I/O shell around the pure `fmt.format_text`: finds the spec files (as `check` does,
honouring `.converge-ignore`), writes each changed file atomically (a temporary file in
the same directory, fsynced, renamed over it) with its mode kept. A file that cannot be
parsed is reported at its line and column and left untouched.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shlex
import stat
import sys
import tempfile
from pathlib import Path

import click

from converge.compiler import fmt, loader, sources
from converge.compiler.commands import conventions
from converge.compiler.diagnostics import Diagnostic
from converge.compiler.formats import human, terminal
from converge.compiler.formats.report import Report

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True, slots=True)
class _File:
    shown: str
    """The path as the user can open it (PATH joined with the file's relative path)."""
    path: Path
    data: bytes


@dataclasses.dataclass(slots=True)
class _Outcome:
    changed: list[tuple[_File, str, str]] = dataclasses.field(default_factory=list)
    """(file, old text, new text) of every file the canonical style changes."""
    problems: list[Diagnostic] = dataclasses.field(default_factory=list)
    texts: dict[str, str] = dataclasses.field(default_factory=dict)
    bugs: list[str] = dataclasses.field(default_factory=list)
    files: int = 0


@click.command("fmt")
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=Path))
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 and list the files that would change.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print a unified diff of what would change (exit 1 if any).")
def fmt_command(paths: tuple[Path, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite the spec files under PATH (default: the current directory) in one canonical
    style, keeping every comment: keys in the order of each kind's fields, two-space
    indentation, strings quoted only where YAML needs it.

    PATH may be a directory or a file, and may be given more than once. Formatting never
    changes what a spec means. Exit status: 0 done (with --check: nothing to change), 1
    files would change (--check, --diff) or cannot be parsed (they are left untouched),
    2 usage or I/O error.
    """
    files = _discover(paths or (Path("."),))
    outcome = _format_all(files)
    dry = check_only or show_diff
    command = " ".join(["converge fmt", *(shlex.quote(p.as_posix()) for p in paths)])
    for file, old, new in outcome.changed:
        if show_diff:
            click.echo(terminal.visible("".join(_diff(file.shown, old, new))), nl=False)
        elif check_only:
            click.echo(f"would reformat {file.shown}")
        else:
            _write(file.path, new.encode("utf-8"))
            click.echo(f"reformatted {file.shown}")
    if outcome.problems:
        report = Report(outcome.problems, outcome.texts, "", len(outcome.texts))
        color = conventions.use_color(sys.stderr)
        click.echo(human.render(report, color=color), nl=False, err=True, color=color)
    for bug in outcome.bugs:
        click.echo(f"converge: internal error: {bug}; the file was left untouched. This is "
                   "a bug in converge: please report it.", err=True)
    raise SystemExit(_summarize(outcome, dry=dry, command=command))


def _summarize(outcome: _Outcome, *, dry: bool, command: str) -> int:
    changed, failed = len(outcome.changed), len(outcome.texts) + len(outcome.bugs)
    if dry and changed:
        click.echo(f"converge: {_files(changed)} would be reformatted; run `{command}` "
                   "to rewrite them", err=True)
    elif not changed and not failed:
        click.echo(f"{_files(outcome.files)} already formatted")
    elif not dry:
        click.echo(f"{changed} of {_files(outcome.files)} reformatted")
    if failed:
        click.echo(f"converge: {_files(failed)} left untouched: fix the errors above", err=True)
    if outcome.bugs:
        return EXIT_INTERNAL
    return EXIT_FINDINGS if failed or (dry and changed) else EXIT_OK


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _discover(paths: tuple[Path, ...]) -> list[_File]:
    found: list[_File] = []
    for root in paths:
        if root.is_file():
            found.append(_File(root.as_posix(), root, _read(root)))
            continue
        try:
            spec_files = sources.read_directory(root)
        except sources.SourceError as error:
            click.echo(f"converge: error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        shown = root.as_posix().rstrip("/")
        for spec in spec_files:
            name = spec.path if shown in ("", ".") else f"{shown}/{spec.path}"
            found.append(_File(name, root / spec.path, spec.data))
    unique: dict[str, _File] = {}  # a file and a symbolic link to it are formatted once
    for file in found:
        unique.setdefault(os.path.realpath(file.path), file)
    found = list(unique.values())
    if not found:
        where = " ".join(p.as_posix() for p in paths)
        click.echo(f"converge: error: no spec files (*.yaml, *.yml) under {where}", err=True)
        raise SystemExit(EXIT_USAGE)
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        click.echo(f"converge: error: {path}: {error.strerror}", err=True)
        raise SystemExit(EXIT_USAGE) from None


def _format_all(files: list[_File]) -> _Outcome:
    outcome = _Outcome(files=len(files))
    for file in files:
        try:
            text = file.data.decode("utf-8")
        except UnicodeDecodeError:
            loaded = loader.load(file.shown, file.data)
            outcome.problems.extend(loaded.diagnostics)
            outcome.texts[file.shown] = loaded.text
            continue
        try:
            new = fmt.format_text(text, path=file.shown)
        except fmt.FormatError as error:
            outcome.problems.extend(error.diagnostics)
            outcome.texts[file.shown] = text
            continue
        except fmt.MeaningChanged as error:
            outcome.bugs.append(str(error))
            continue
        if new != text:
            outcome.changed.append((file, text, new))
    return outcome


def _diff(shown: str, old: str, new: str) -> list[str]:
    a, b = (shown, shown) if shown.startswith("/") else (f"a/{shown}", f"b/{shown}")
    lines = list(difflib.unified_diff(old.splitlines(keepends=True),
                                      new.splitlines(keepends=True), fromfile=a, tofile=b))
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines]


def _write(path: Path, data: bytes) -> None:
    """Replace the file at `path` (a symbolic link's target) atomically, keeping its mode."""
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".fmt",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
