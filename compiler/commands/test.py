"""`converge test`: check the specs, then run their routing assertions and rule tests.

The thin shell: it reads the specs, prints check errors if any (and stops), evaluates
routing assertions in memory, runs every rule test case through one `promtool test
rules`, and prints each failure at the test's position. Exit codes: 0 every test passed,
1 a test failed or the specs have errors, 2 usage error or promtool missing.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from converge.compiler import pipeline, sources
from converge.compiler.formats import FORMATTERS, human
from converge.compiler.formats.report import Report
from converge.compiler.testing import promtool, promtool_output, report, routing, rules
from converge.compiler.testing.results import Result

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@click.command("test")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(report.FORMATS),
              default="human", show_default=True, help="How to print the results.")
@click.option("--promtool", "promtool_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The promtool to run rule tests with (default: promtool on PATH).")
@click.option("-v", "--verbose", is_flag=True, help="List every test, passed or not.")
@click.option("--color/--no-color", default=None, help="Colour human output (default: on a tty).")
def command(path: Path, output_format: str, promtool_path: Path | None, verbose: bool,
            color: bool | None) -> None:
    """Run the routing assertions and rule unit tests of the specs under PATH.

    Routing tests (`tests:` in the Routing spec) are evaluated on the compiled route tree
    and inhibit rules; rule tests (`tests:` in a RuleGroup) run with `promtool test rules`
    against the rendered rule files. Exit status: 0 all passed, 1 a test failed or the
    specs have errors, 2 usage error or promtool missing.
    """
    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    root = path.as_posix().rstrip("/") or "/"
    use_color = sys.stdout.isatty() if color is None else color
    checked = _check(path, output_format, root, use_color)
    assert checked.model is not None
    cases = rules.cases(checked.model)
    results: list[Result] = routing.run(checked.model)
    if cases:
        try:
            executable = promtool.find(promtool_path)
            _, output = promtool.run_tests(executable, rules.files(checked.model, cases),
                                           [case.file for case in cases])
        except promtool.PromtoolMissing as error:
            click.echo(f"converge: error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        results.extend(promtool_output.results(cases, output))
    if not results:
        click.echo(f"converge: no tests under {root}: add `tests:` to a Routing or "
                   "RuleGroup spec", err=True)
    click.echo(report.render(results, output_format=output_format, texts=checked.texts,
                             root=root, files=checked.files, color=use_color,
                             verbose=verbose), nl=False, color=use_color)
    raise SystemExit(EXIT_OK if all(r.passed for r in results) else EXIT_FAILED)


def _check(path: Path, output_format: str, root: str, color: bool) -> pipeline.CheckResult:
    """Check the specs; print their problems, and stop on errors (exit 1)."""
    try:
        files = sources.read_directory(path)
    except sources.SourceError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if not files:
        click.echo(f"converge: error: no spec files (*.yaml, *.yml) under {path}", err=True)
        raise SystemExit(EXIT_USAGE)
    result = pipeline.check(files)
    if not result.diagnostics:
        return result
    problems = Report(result.diagnostics, result.texts, root, result.files)
    if output_format == "human":
        text = human.render(problems, color=color)
    else:
        text = FORMATTERS[output_format](problems)
    if not result.ok or result.model is None:
        click.echo(text, nl=False, color=color)
        click.echo("converge: tests not run: fix the errors above", err=True)
        raise SystemExit(EXIT_FAILED)
    if output_format == "human":  # warnings only: keep stdout for the test results
        click.echo(text, nl=False, err=True, color=color)
    return result
