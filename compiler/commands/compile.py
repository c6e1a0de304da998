"""`converge compile`: check the specs and write the bundle (or, with --check, say whether
the committed one is stale)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from converge.compiler.commands import conventions
from converge.compiler.commands.check import FORMATS, report_text, run_checks, shown_root
from converge.compiler.commands.main import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, exit_fast, version

if TYPE_CHECKING:
    from converge.compiler import pipeline

__all__ = ["compile_command"]


@click.command("compile")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="The bundle directory, replaced as a whole.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 and print a diff when OUTPUT is stale.")
@conventions.format_option(*FORMATS, help="How to print diagnostics (and, with json, the "
                                          "result) on stdout.")
@conventions.color_option()
@conventions.cache_options
def compile_command(path: Path, output: Path, check_only: bool, output_format: str,
                    color: bool | None, cache_dir: Path | None, use_cache: bool) -> None:
    """Check the specs under PATH and write the bundle Prometheus, vmalert, Alertmanager and
    the daemons load: rule files, alertmanager.yaml, reconciler data and manifest.json.

    Nothing is written when the specs have errors. With --format human, diagnostics and
    progress go to stderr and only a stale diff to stdout; a machine format puts its
    document alone on stdout. Exit status: 0 written (or, with --check, up to date), 1
    errors found (or stale), 2 usage or I/O error.
    """
    from converge.compiler import gitinfo

    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    exit_fast()
    git = gitinfo.start(path)  # runs beside the checks, on the other core
    try:
        result = run_checks(path, cache_dir=cache_dir, use_cache=use_cache)
    finally:
        git.close()
    printer = _Printer(result, path=path, output_format=output_format)
    printer.diagnostics(color)
    from converge.compiler import bundle, render, writer
    from converge.compiler.parallel import render_worker

    if not result.ok or result.model is None:
        printer.done(output=output, check_only=check_only)
        click.echo("converge: nothing written: fix the errors above", err=True)
        raise SystemExit(EXIT_FINDINGS)
    if check_only:
        built = bundle.build(render.render(result.model), result.model, version=version(),
                             source=git.result())
        diff = writer.stale_diff(bundle.without_source(built.files), output,
                                 normalize={bundle.MANIFEST: bundle.manifest_without_source})
        printer.done(output=output, check_only=True, bundle_hash=built.hash,
                     targets=built.manifest["targets"], diff=diff)
        if diff:
            click.echo(f"converge: {output} is stale: run `converge compile "
                       f"{shown_root(path)} -o {output}`", err=True)
            raise SystemExit(EXIT_FINDINGS)
        click.echo(f"{output} is up to date (bundle {built.hash[:12]})", err=True)
        raise SystemExit(EXIT_OK)
    try:
        with writer.Staging(output) as staging:  # files are written as they are rendered
            rendered = render_worker.render_into(result.model, staging)
            built = bundle.build(rendered, result.model, version=version(),
                                 source=git.result())
            staging.commit(built.files)
    except writer.WriteError as error:
        printer.done(output=output, check_only=False)
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    counts = built.manifest["targets"]
    printer.done(output=output, check_only=False, written=True, bundle_hash=built.hash,
                 targets=counts)
    summary = ", ".join(f"{name} {info['files']} file(s)" for name, info in counts.items())
    click.echo(f"wrote {output}: {summary}; bundle {built.hash[:12]}", err=True)


class _Printer:
    """Where compile's report goes: human diagnostics to stderr as they are known (they are
    progress), a machine format's one document to stdout once the outcome is known."""

    def __init__(self, result: pipeline.CheckResult, *, path: Path, output_format: str
                 ) -> None:
        self.result, self.path, self.output_format = result, path, output_format

    def diagnostics(self, color: bool | None) -> None:
        """Human diagnostics, on stderr (a machine format prints them in `done`)."""
        if self.output_format == "human" and self.result.diagnostics:
            use_color = conventions.use_color(sys.stderr, color)
            click.echo(report_text(self.result, path=self.path, output_format="human",
                                   color=use_color),
                       nl=False, err=True, color=use_color)

    def done(self, *, output: Path, check_only: bool, written: bool = False,
             bundle_hash: str | None = None, targets: dict[str, Any] | None = None,
             diff: str | None = None) -> None:
        """Print the outcome: a stale diff, and a machine format's document."""
        if self.output_format == "human":
            if diff:
                click.echo(diff, nl=False)
            return
        if diff:  # stdout holds the document alone
            click.echo(diff, nl=False, err=True)
        if self.output_format != "json":
            click.echo(report_text(self.result, path=self.path,
                                   output_format=self.output_format), nl=False)
            return
        from converge.compiler.formats import json_format
        from converge.compiler.formats.report import Report

        document = json_format.document(Report(self.result.diagnostics, self.result.texts,
                                               shown_root(self.path), self.result.files))
        document["result"] = {
            "output": output.as_posix(), "check": check_only, "written": written,
            "stale": bool(diff) if check_only and bundle_hash is not None else None,
            "bundleHash": bundle_hash, "targets": targets, "diff": diff or None}
        click.echo(json_format.dump(document), nl=False)
