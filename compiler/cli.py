"""The `converge` command: one click group for every command.

Heavy modules are imported inside the commands, so `converge --help` and `converge
check` start fast. Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage
or I/O error. A bad spec or a bad flag never shows a traceback.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from converge.compiler import pipeline

FORMATS = ("human", "json", "github", "sarif")
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


_LAZY_COMMANDS = {
    "dashboard": ("converge.compiler.dashboard_cli", "dashboard_command"),
    "demo": ("converge.reconciler.demo.cli", "demo"),
    "diff": ("converge.compiler.diff_cli", "diff_command"),
    "fmt": ("converge.compiler.fmt_cli", "fmt_command"),
    "healer": ("converge.reconciler.healer.cli", "healer_group"),
    "import": ("converge.compiler.import_cli", "import_group"),
    "notifier": ("converge.reconciler.notifier.cli", "notifier"),
    "scaler": ("converge.reconciler.scaler.cli", "scaler_group"),
    "serve": ("converge.reconciler.server.cli", "serve"),
    "sidecar": ("converge.reconciler.sidecar.cli", "sidecar"),
    "test": ("converge.compiler.testing.cli", "command"),
    "watch": ("converge.compiler.watch.cli", "watch_command"),
}
"""Commands whose modules are imported only when they run, to keep start-up fast."""


class _Group(click.Group):
    """Loads heavy commands lazily; turns unexpected failures into one-line messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            module_name, attribute = _LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OSError as error:
            click.echo(f"converge: error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("converge: interrupted", err=True)
            raise SystemExit(130) from None
        except Exception as error:  # a bug: say so in one line; CONVERGE_DEBUG=1 shows it all
            if os.environ.get("CONVERGE_DEBUG"):
                raise
            click.echo(f"converge: internal error: {type(error).__name__}: {error}\n"
                       "This is a bug in converge; rerun with CONVERGE_DEBUG=1 for details "
                       "and report it.", err=True)
            raise SystemExit(EXIT_INTERNAL) from None


_exit_without_teardown = False
"""Set by `check` and `compile`: they leave no thread, file or process behind, only a
model that takes long to free (see `run`)."""


def run() -> None:
    """The `converge` console script: `main`, and after `check` or `compile`, an exit that
    skips freeing every object one by one (the interpreter's teardown of a 10,000-rule
    model and its caches took 0.15-0.25 s, a tenth of `converge check`)."""
    try:
        main()
    except SystemExit as done:
        code = done.code
        if not (_exit_without_teardown and isinstance(code, int | None)
                and threading.active_count() == 1):
            raise
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: as Python's own exit would
                pass
        os._exit(code or 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="converge-gitops", prog_name="converge")
def main() -> None:
    """converge: monitoring configuration as code.

    Validate alert rules, channels, routing, worker pools and healing policies kept as
    YAML specs in Git, and render what Prometheus, vmalert and Alertmanager load.
    """


@main.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="human",
              show_default=True, help="How to print diagnostics.")
@click.option("--explain", metavar="CODE", help="Print what a diagnostic code means, and exit.")
@click.option("--color/--no-color", default=None, help="Colour human output (default: on a tty).")
def check(path: Path, output_format: str, explain: str | None, color: bool | None) -> None:
    """Validate the specs under PATH (default: the current directory).

    Every problem is reported at its file, line and column. Exit status: 0 no errors
    (warnings allowed), 1 errors found, 2 usage or I/O error.
    """
    if explain is not None:
        raise SystemExit(_explain(explain))
    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    _exit_fast()
    result = _check_and_report(path, output_format, color)
    raise SystemExit(EXIT_OK if result.ok else EXIT_FINDINGS)


def _check_and_report(path: Path, output_format: str, color: bool | None,
                      *, quiet_when_clean: bool = False) -> pipeline.CheckResult:
    """Run the checks on PATH and print the diagnostics in the chosen format."""
    from converge.compiler import parallel, sources

    try:
        files = sources.read_directory(path)
    except sources.SourceError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if not files:  # almost always a wrong PATH: passing silently would hide it in CI
        click.echo(f"converge: error: no spec files (*.yaml, *.yml) under {path}", err=True)
        raise SystemExit(EXIT_USAGE)
    # The worker loads files while this process imports pydantic and the models below.
    worker = parallel.start(files, share=parallel.BEFORE_IMPORTS)
    from converge.compiler import pipeline
    from converge.compiler.formats import FORMATTERS, human
    from converge.compiler.formats.report import Report

    result = pipeline.check(files, worker=worker)
    if quiet_when_clean and not result.diagnostics:
        return result
    report = Report(result.diagnostics, result.texts, _shown_root(path), result.files)
    if output_format == "human":
        use_color = sys.stdout.isatty() if color is None else color
        text = human.render(report, color=use_color)
        click.echo(text, nl=False, color=use_color, err=quiet_when_clean)
    else:
        click.echo(FORMATTERS[output_format](report), nl=False, err=quiet_when_clean)
    return result


@main.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="The bundle directory, replaced as a whole.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 and print a diff when OUTPUT is stale.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="human",
              show_default=True, help="How to print diagnostics.")
def compile(path: Path, output: Path, check_only: bool, output_format: str) -> None:
    """Check the specs under PATH and write the bundle Prometheus, vmalert, Alertmanager and
    the daemons load: rule files, alertmanager.yaml, reconciler data and manifest.json.

    Nothing is written when the specs have errors. Exit status: 0 written (or, with
    --check, up to date), 1 errors found (or stale), 2 usage or I/O error.
    """
    from converge.compiler import gitinfo

    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    _exit_fast()
    git = gitinfo.start(path)  # runs beside the checks, on the other core
    try:
        result = _check_and_report(path, output_format, None, quiet_when_clean=True)
    finally:
        git.close()
    from converge.compiler import bundle, parallel_render, render, writer

    if not result.ok or result.model is None:
        click.echo("converge: nothing written: fix the errors above", err=True)
        raise SystemExit(EXIT_FINDINGS)
    if check_only:
        built = bundle.build(render.render(result.model), result.model, version=_version(),
                             source=git.result())
        diff = writer.stale_diff(bundle.without_source(built.files), output,
                                 normalize={bundle.MANIFEST: bundle.manifest_without_source})
        if diff:
            click.echo(diff, nl=False)
            click.echo(f"converge: {output} is stale: run `converge compile "
                       f"{_shown_root(path)} -o {output}`", err=True)
            raise SystemExit(EXIT_FINDINGS)
        click.echo(f"{output} is up to date (bundle {built.hash[:12]})")
        raise SystemExit(EXIT_OK)
    try:
        with writer.Staging(output) as staging:  # files are written as they are rendered
            rendered = parallel_render.render_into(result.model, staging)
            built = bundle.build(rendered, result.model, version=_version(),
                                 source=git.result())
            staging.commit(built.files)
    except writer.WriteError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    counts = built.manifest["targets"]
    summary = ", ".join(f"{name} {info['files']} file(s)" for name, info in counts.items())
    click.echo(f"wrote {output}: {summary}; bundle {built.hash[:12]}")


def _exit_fast() -> None:
    global _exit_without_teardown
    _exit_without_teardown = True


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("converge-gitops")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _shown_root(path: Path) -> str:
    text = path.as_posix()
    return text.rstrip("/") or "/"


def _explain(code: str) -> int:
    from converge.compiler.codes import all_codes

    codes = all_codes()
    if code not in codes:
        click.echo(f"converge: error: unknown code {code!r}; codes:\n  " + "\n  ".join(codes),
                   err=True)
        return EXIT_USAGE
    entry = codes[code]
    click.echo(f"{entry.code} ({entry.severity.value}): {entry.summary}\n\n{entry.doc}")
    return EXIT_OK


@main.command()
@click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schema"), show_default=True, help="Directory to write into.")
def schema(output: Path) -> None:
    """Write the JSON Schema of every kind (and converge.json, for any kind).

    Point your editor at them with a first line such as
    `# yaml-language-server: $schema=schema/converge.json`.
    """
    from converge.specs import jsonschema

    output.mkdir(parents=True, exist_ok=True)
    for name, text in jsonschema.all_schemas().items():
        (output / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output / name}")
