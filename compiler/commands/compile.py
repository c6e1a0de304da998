"""`converge compile`: check the specs and write the bundle (or, with --check, say whether
the committed one is stale)."""

from __future__ import annotations

import gc
from pathlib import Path

import click

from converge.compiler.commands.check import FORMATS, check_and_report, shown_root
from converge.compiler.commands.main import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, exit_fast, version

__all__ = ["compile_command"]


@click.command("compile")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="The bundle directory, replaced as a whole.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 and print a diff when OUTPUT is stale.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="human",
              show_default=True, help="How to print diagnostics.")
def compile_command(path: Path, output: Path, check_only: bool, output_format: str) -> None:
    """Check the specs under PATH and write the bundle Prometheus, vmalert, Alertmanager and
    the daemons load: rule files, alertmanager.yaml, reconciler data and manifest.json.

    Nothing is written when the specs have errors. Exit status: 0 written (or, with
    --check, up to date), 1 errors found (or stale), 2 usage or I/O error.
    """
    from converge.compiler import gitinfo

    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    exit_fast()
    git = gitinfo.start(path)  # runs beside the checks, on the other core
    try:
        result = check_and_report(path, output_format, None, quiet_when_clean=True)
    finally:
        git.close()
    from converge.compiler import bundle, render, writer
    from converge.compiler.parallel import render_worker

    if not result.ok or result.model is None:
        click.echo("converge: nothing written: fix the errors above", err=True)
        raise SystemExit(EXIT_FINDINGS)
    if check_only:
        built = bundle.build(render.render(result.model), result.model, version=version(),
                             source=git.result())
        diff = writer.stale_diff(bundle.without_source(built.files), output,
                                 normalize={bundle.MANIFEST: bundle.manifest_without_source})
        if diff:
            click.echo(diff, nl=False)
            click.echo(f"converge: {output} is stale: run `converge compile "
                       f"{shown_root(path)} -o {output}`", err=True)
            raise SystemExit(EXIT_FINDINGS)
        click.echo(f"{output} is up to date (bundle {built.hash[:12]})")
        raise SystemExit(EXIT_OK)
    try:
        with writer.Staging(output) as staging:  # files are written as they are rendered
            rendered = render_worker.render_into(result.model, staging)
            built = bundle.build(rendered, result.model, version=version(),
                                 source=git.result())
            staging.commit(built.files)
    except writer.WriteError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    counts = built.manifest["targets"]
    summary = ", ".join(f"{name} {info['files']} file(s)" for name, info in counts.items())
    click.echo(f"wrote {output}: {summary}; bundle {built.hash[:12]}")
