"""`converge check`: validate the specs and print every diagnostic, positioned."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from converge.compiler.commands import conventions
from converge.compiler.commands.main import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, exit_fast

if TYPE_CHECKING:
    from converge.compiler import livefacts, pipeline

FORMATS = ("human", "json", "github", "sarif")

__all__ = ["FORMATS", "check", "check_and_report", "report_text", "run_checks", "shown_root"]


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@conventions.format_option(*FORMATS, help="How to print diagnostics.")
@click.option("--explain", metavar="CODE", help="Print what a diagnostic code means, and exit.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error",
              show_default=True, help="The lowest severity that fails the check (exit 1).")
@click.option("--prometheus", metavar="URL", help="Also check what this running Prometheus "
              "knows: series that exist, metric types, scrape intervals (live/* codes).")
@conventions.color_option()
@conventions.cache_options
def check(path: Path, output_format: str, explain: str | None, fail_on: str,
          prometheus: str | None, color: bool | None, cache_dir: Path | None,
          use_cache: bool) -> None:
    """Validate the specs under PATH (default: the current directory).

    Every problem is reported at its file, line and column; `# converge:disable CODE`
    comments and the Project's `lint.disable` suppress some. Exit status: 0 no errors
    (warnings allowed, unless --fail-on warning), 1 errors found, 2 usage or I/O error.
    """
    if explain is not None:
        raise SystemExit(_explain(explain))
    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    exit_fast()
    from converge.compiler import livefacts

    facts = _live(prometheus) if prometheus else None
    with livefacts.using(facts):
        result = check_and_report(path, output_format, color, cache_dir=cache_dir,
                                  use_cache=use_cache)
    failing = {"error": ("error",), "warning": ("error", "warning")}[fail_on]
    failed = any(d.severity.value in failing for d in result.diagnostics)
    raise SystemExit(EXIT_FINDINGS if failed else EXIT_OK)


def check_and_report(path: Path, output_format: str, color: bool | None, *,
                     cache_dir: Path | None = None, use_cache: bool = True
                     ) -> pipeline.CheckResult:
    """Run the checks on PATH and print the diagnostics in the chosen format on stdout."""
    result = run_checks(path, cache_dir=cache_dir, use_cache=use_cache)
    use_color = conventions.use_color(sys.stdout, color)
    text = report_text(result, path=path, output_format=output_format, color=use_color)
    click.echo(text, nl=False, color=use_color)
    return result


def run_checks(path: Path, *, cache_dir: Path | None = None,
               use_cache: bool = True) -> pipeline.CheckResult:
    """Read the specs under PATH and check them; a missing PATH or no spec files exit 2.

    With `use_cache`, each file's work is read from and written to the cache in
    `cache_dir` (`compiler.cache`)."""
    from converge.compiler import cache, sources
    from converge.compiler.parallel import check_worker

    try:
        files = sources.read_directory(path)
    except sources.SourceError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if not files:  # almost always a wrong PATH: passing silently would hide it in CI
        click.echo(f"converge: error: no spec files (*.yaml, *.yml) under {path}", err=True)
        raise SystemExit(EXIT_USAGE)
    store = cache.open_store(cache_dir, enabled=use_cache)
    cached = store.lookup(files) if store is not None else None
    # The worker loads files while this process imports pydantic and the models below.
    worker = check_worker.start([f for f in files if f.path not in (cached or {})],
                                share=check_worker.BEFORE_IMPORTS)
    from converge.compiler import pipeline

    result = pipeline.check(files, worker=worker, cached=cached)
    if store is not None:
        store.save(files, result.fresh)
    return result


def report_text(result: pipeline.CheckResult, *, path: Path, output_format: str,
                color: bool = False) -> str:
    """The diagnostics of RESULT in OUTPUT_FORMAT (`FORMATS`), paths shown under PATH."""
    from converge.compiler.formats import FORMATTERS, human
    from converge.compiler.formats.report import Report

    report = Report(result.diagnostics, result.texts, shown_root(path), result.files,
                    result.suppressed)
    if output_format == "human":
        return human.render(report, color=color)
    return FORMATTERS[output_format](report)


def shown_root(path: Path) -> str:
    text = path.as_posix()
    return text.rstrip("/") or "/"



def _live(url: str) -> livefacts.Facts:
    from converge.compiler import live

    try:
        return live.fetch(url)
    except live.LiveError as error:
        click.echo(f"converge: error: --prometheus: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


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


