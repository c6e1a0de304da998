"""The `converge` command: one click group for every command.

Heavy modules are imported inside the commands, so `converge --help` and `converge
check` start fast. Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage
or I/O error. A bad spec or a bad flag never shows a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

FORMATS = ("human", "json", "github", "sarif")
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Group(click.Group):
    """Turns an unexpected I/O failure into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OSError as error:
            click.echo(f"converge: error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
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
    from compiler import pipeline, sources
    from compiler.formats import FORMATTERS, human
    from compiler.formats.report import Report

    try:
        files = sources.read_directory(path)
    except sources.SourceError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    result = pipeline.check(files)
    report = Report(result.diagnostics, result.texts, _shown_root(path), result.files)
    if output_format == "human":
        use_color = sys.stdout.isatty() if color is None else color
        click.echo(human.render(report, color=use_color), nl=False, color=use_color)
    else:
        click.echo(FORMATTERS[output_format](report), nl=False)
    raise SystemExit(EXIT_OK if result.ok else EXIT_FINDINGS)


def _shown_root(path: Path) -> str:
    text = path.as_posix()
    return text.rstrip("/") or "/"


def _explain(code: str) -> int:
    from compiler.codes import all_codes

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
    from specs import jsonschema

    output.mkdir(parents=True, exist_ok=True)
    for name, text in jsonschema.all_schemas().items():
        (output / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output / name}")
