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
from typing import IO

import click

from converge.compiler import pipeline, sources
from converge.compiler.commands import conventions
from converge.compiler.formats import FORMATTERS, human
from converge.compiler.formats.report import Report
from converge.compiler.testing import promtool, promtool_output, report, routing, rules
from converge.compiler.testing.results import Result

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@click.command("test")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@conventions.format_option(*report.FORMATS, help="How to print the results: junit for CI "
                                                 "systems that show test reports.")
@click.option("-o", "--output", "output", type=click.File("w", encoding="utf-8", lazy=True),
              default=None, help="Write the results to this file  [default: standard output]")
@click.option("--promtool", "promtool_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The promtool to run rule tests with (default: promtool on PATH).")
@click.option("-v", "--verbose", is_flag=True, help="List every test, passed or not.")
@conventions.color_option()
def command(path: Path, output_format: str, output: IO[str] | None,
            promtool_path: Path | None, verbose: bool, color: bool | None) -> None:
    """Run the routing assertions and rule unit tests of the specs under PATH.

    Routing tests (`tests:` in the Routing spec) are evaluated on the compiled route tree
    and inhibit rules; rule tests (`tests:` in a RuleGroup) run with `promtool test rules`
    against the rendered rule files. Exit status: 0 all passed, 1 a test failed or the
    specs have errors, 2 usage error or promtool missing.
    """
    gc.disable()  # a short-lived process: collecting over the whole model only costs time
    root = path.as_posix().rstrip("/") or "/"
    stream = output if output is not None else sys.stdout
    use_color = conventions.use_color(stream, color)
    checked = _check(path, output_format=output_format, root=root, color=color,
                     output=output)
    assert checked.model is not None
    cases = rules.cases(checked.model)
    results: list[Result] = routing.run(checked.model)
    if cases:
        try:
            executable = promtool.find(promtool_path)
            _, promtool_text = promtool.run_tests(executable,
                                                  rules.files(checked.model, cases),
                                                  [case.file for case in cases])
        except promtool.PromtoolMissing as error:
            click.echo(f"converge: error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        results.extend(promtool_output.results(cases, promtool_text))
    if not results:
        click.echo(f"converge: no tests under {root}: add `tests:` to a Routing or "
                   "RuleGroup spec", err=True)
    click.echo(report.render(results, output_format=output_format, texts=checked.texts,
                             root=root, files=checked.files, color=use_color,
                             verbose=verbose), nl=False, color=use_color, file=output)
    if output is not None:
        click.echo(f"wrote {output.name}: {report.summary(results)}", err=True)
    raise SystemExit(EXIT_OK if all(r.passed for r in results) else EXIT_FAILED)


def _check(path: Path, *, output_format: str, root: str, color: bool | None,
           output: IO[str] | None) -> pipeline.CheckResult:
    """Check the specs; print their problems, and stop on errors (exit 1).

    Errors are the report (the results' place: stdout or OUTPUT); warnings alone are
    progress, on stderr, except as GitHub annotations (workflow commands, on stdout)."""
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
    if not result.ok or result.model is None:
        use_color = conventions.use_color(output or sys.stdout, color)
        if output_format == "junit":
            _human(problems, sys.stderr, color)
            text = report.junit_errors(problems)
        elif output_format == "human":
            text = human.render(problems, color=use_color)
        else:
            text = FORMATTERS[output_format](problems)
        click.echo(text, nl=False, file=output, color=use_color)
        click.echo("converge: tests not run: fix the errors above", err=True)
        raise SystemExit(EXIT_FAILED)
    if output_format == "github":
        click.echo(FORMATTERS["github"](problems), nl=False, file=output)
    else:  # keep the results' stream for the results
        _human(problems, sys.stderr, color)
    return result


def _human(problems: Report, stream: IO[str], color: bool | None) -> None:
    use_color = conventions.use_color(stream, color)
    click.echo(human.render(problems, color=use_color), nl=False, file=stream, color=use_color)
