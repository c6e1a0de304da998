"""`converge diff`: compile two revisions straight from Git objects and report the change.

No checkout and no stash: the base (and `--head`) are read from the object database, the
work tree is only read, and only when it is the head. Exit status like `flux diff`: 0 no
change, 1 changes, 2 an error (a bad revision, a side that does not compile, no spec files
on either side); 3 a bug.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

import click

from converge.compiler import gitsource, sources
from converge.compiler.commands import conventions
from converge.compiler.parallel import check_worker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from converge.compiler.diff import BundleDiff, Context, Failure, Revision

    _Render = Callable[[BundleDiff, Context], str]
    _Fail = Callable[[Iterable[Failure], Context], str]

EXIT_SAME, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2

FORMATS = ("human", "markdown", "json")
"""Each names a module of `converge.compiler.diff` with `render` and `failure` (`human`:
`text`, the name `--format` took before, still accepted)."""

_Sides = tuple[gitsource.Revision, gitsource.Revision | None,
               list[sources.SourceFile], list[sources.SourceFile]]


@click.command("diff")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base", "base_ref", required=True, metavar="REF",
              help="The revision to compare against: a branch, tag or commit.")
@click.option("--head", "head_ref", metavar="REF",
              help="The revision to compare  [default: the work tree]")
@conventions.format_option(*FORMATS, help="markdown for a pull-request comment, json for "
                                          "tools.")
def diff_command(path: Path, base_ref: str, head_ref: str | None, output_format: str) -> None:
    """Show what the specs under PATH change between two revisions: rules field by field,
    which alerts reach other receivers, Alertmanager and reconciler changes, and the
    unified diff of every rendered file.

    Exit status: 0 no change, 1 changes, 2 an error (a bad revision, or a side that does
    not compile: its diagnostics are printed).
    """
    gc.disable()  # a short-lived process: collecting over two models only costs time
    base_commit, head_commit, base_files, head_files = _read(path, base_ref, head_ref)
    if not base_files and not head_files:
        base_revision, head_revision = _revisions(base_commit, head_commit)
        click.echo(f"converge: error: no spec files (*.yaml, *.yml) under {path} at "
                   f"{base_revision.shown} or {head_revision.shown}", err=True)
        raise SystemExit(EXIT_ERROR)
    # One worker for both sides loads part of their files and parses their PromQL while
    # this process imports pydantic, the models and the diff below (0.8 s of imports).
    worker = check_worker.start(sources.union(base_files, head_files),
                            share=check_worker.BEFORE_DIFF_IMPORTS)
    from converge.compiler.diff import Failure, json_format, markdown, text
    from converge.compiler.diff import model as diff_model
    from converge.compiler.diff import sides as diff_sides
    from converge.compiler.formats.report import Report

    context = _context(path, *_revisions(base_commit, head_commit), base_files, head_files)
    module = {"markdown": markdown, "human": text, "json": json_format}[output_format]
    render: _Render = module.render
    fail: _Fail = module.failure
    base, head = diff_sides.compile_pair(base_files, head_files, worker=worker)
    root = path.as_posix().rstrip("/") or "/"
    failures = [Failure(name, revision, Report(side.result.diagnostics, side.result.texts,
                                               root, side.result.files))
                for name, revision, side in (("base", context.base, base),
                                             ("head", context.head, head))
                if side.side is None]
    if failures:
        click.echo(fail(failures, context), nl=False)
        raise SystemExit(EXIT_ERROR)
    assert base.side is not None and head.side is not None
    found = diff_model.compute(base.side, head.side, warnings=diff_model.new_warnings(
        base.result.diagnostics, head.result.diagnostics))
    click.echo(render(found, context), nl=False)
    raise SystemExit(EXIT_CHANGED if found.changed else EXIT_SAME)


def _read(path: Path, base_ref: str, head_ref: str | None) -> _Sides:
    """Both sides' revisions (no head: the work tree) and spec files; errors end the
    command."""
    try:
        repository = gitsource.open_repository(path)
        try:
            base = gitsource.resolve(repository, base_ref)
            head = gitsource.resolve(repository, head_ref) if head_ref else None
            base_files = gitsource.read_revision(repository, base)
            head_files = (gitsource.read_revision(repository, head) if head
                          else sources.read_directory(path))
        finally:
            repository.repo.close()
    except (gitsource.GitSourceError, sources.SourceError) as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    return base, head, base_files, head_files


def _revisions(base: gitsource.Revision, head: gitsource.Revision | None
               ) -> tuple[Revision, Revision]:
    """How the report names the sides (no head: the work tree)."""
    from converge.compiler.diff import Revision

    return (Revision(base.ref, base.commit),
            Revision(head.ref, head.commit) if head else Revision(None, None))


def _context(path: Path, base: Revision, head: Revision, base_files: list[sources.SourceFile],
             head_files: list[sources.SourceFile]) -> Context:
    """How to name the sides, and which of them has no spec files."""
    from converge.compiler.diff import Context

    shown = path.as_posix()
    notes = tuple(f"the {name} ({revision.shown}) has no spec files under {shown}"
                  for name, revision, files in (("base", base, base_files),
                                                ("head", head, head_files))
                  if not files)
    return Context(base, head, notes)
