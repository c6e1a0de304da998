"""One CLI convention (docs/cli.md), checked over every command and subcommand of the real
`converge` group, so a new command cannot break it: help text everywhere, one `--format`
vocabulary, the same logging options on every daemon and no secret in argv, every option
readable from `CONVERGE_<COMMAND>_<OPTION>`, `--help` exits 0 and an unknown flag 2.

Then what the walk cannot see: machine output alone on stdout, colour only on a terminal
and never with NO_COLOR, shell completion scripts, and `converge test --format junit`.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import click
import pytest
import realtools
from click.testing import CliRunner
from convergecli import converge_group
from test_cli_scripts import parse

from converge.compiler.commands import conventions

SCRIPTS = Path(__file__).resolve().parent / "scripts"
CONVERGE = Path(sys.executable).parent / "converge"
DAEMONS = ("serve", "sidecar", "notifier", "healer", "scaler")
SECRET = re.compile(r"^--(?:.+-)?(?:token|password|passwd|secret|api-key|apikey|key)$")
"""A flag that would take a secret's value in argv (seen by every user in `ps`)."""
ESCAPE = "\x1b["

def _root() -> click.Context:
    group = converge_group()
    return click.Context(group, info_name="converge", **group.context_settings)


def _walk(name: str) -> Iterator[tuple[list[str], click.Command]]:
    """The command NAME and every subcommand under it, each with its words after
    `converge`, resolved as the group resolves them (lazy commands included)."""
    context = _root()
    group = converge_group()
    command = group.get_command(context, name)
    assert command is not None, name
    stack: list[tuple[list[str], click.Command, click.Context]] = [([name], command, context)]
    while stack:
        words, found, parent = stack.pop()
        yield words, found
        if isinstance(found, click.Group):
            inner = click.Context(found, info_name=words[-1], parent=parent)
            for sub in found.list_commands(inner):
                subcommand = found.get_command(inner, sub)
                assert subcommand is not None, (words, sub)
                stack.append(([*words, sub], subcommand, inner))


def _names() -> list[str]:
    return converge_group().list_commands(_root())


def _cases() -> list[Any]:
    return [pytest.param(name, id=name) for name in _names()]


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden]


def test_the_walk_sees_every_command() -> None:
    assert set(DAEMONS) <= set(_names())
    assert {"check", "compile", "test", "diff", "fmt", "watch", "import", "schema",
            "dashboard", "demo"} <= set(_names())
    assert [words for words, _ in _walk("import")][1:] == [
        ["import", "prometheus-rules"], ["import", "compose"], ["import", "alertmanager"]]


@pytest.mark.parametrize("name", _cases())
def test_every_command_and_option_has_help(name: str) -> None:
    for words, command in _walk(name):
        assert (command.help or "").strip(), f"`converge {' '.join(words)}` has no help"
        for option in _options(command):
            assert (option.help or "").strip(), \
                f"`converge {' '.join(words)}` {option.opts[0]} has no help"


@pytest.mark.parametrize("name", _cases())
def test_format_uses_the_shared_vocabulary(name: str) -> None:
    for words, command in _walk(name):
        for option in _options(command):
            if "--format" not in option.opts:
                continue
            where = f"`converge {' '.join(words)} --format`"
            assert isinstance(option.type, conventions.FormatChoice), \
                f"{where}: use conventions.format_option"
            assert set(option.type.choices) <= set(conventions.FORMATS), where
            if "human" in option.type.choices:
                assert option.default == "human", where


@pytest.mark.parametrize("name", _cases())
def test_no_option_takes_a_secret_in_argv(name: str) -> None:
    for words, command in _walk(name):
        for option in _options(command):
            secret = [flag for flag in option.opts if SECRET.match(flag)]
            assert not secret, (f"`converge {' '.join(words)}` {secret[0]}: read secrets "
                                "from a file (--…-file)")


@pytest.mark.parametrize("name", DAEMONS)
def test_every_daemon_has_the_same_logging_options(name: str) -> None:
    [(_, command), *_] = _walk(name)
    by_flag = {flag: option for option in _options(command) for flag in option.opts}
    for flag, choices, default in (("--log-level", conventions.LOG_LEVELS, "info"),
                                   ("--log-format", conventions.LOG_FORMATS, "json")):
        assert flag in by_flag, f"`converge {name}` has no {flag}"
        option = by_flag[flag]
        assert isinstance(option.type, click.Choice)
        assert tuple(option.type.choices) == choices, (name, flag)
        assert option.default == default, (name, flag)


def _sample(command: click.Command) -> tuple[click.Option, str, object] | None:
    """An option to set from the environment, the text to set and the value expected (a
    flag only when the command has nothing else)."""
    flags = [option for option in _options(command)
             if option.is_flag and option.is_bool_flag and option.default is not True]
    for option in _options(command):
        if option.callback is not None or option.is_flag or option.multiple:
            continue
        if isinstance(option.type, click.Choice):
            choice = next(str(c) for c in option.type.choices if c != option.default)
            return option, choice, choice
        if isinstance(option.type, click.types.StringParamType):
            return option, "from-env", "from-env"
        if isinstance(option.type, click.Path):
            return option, "from-env", Path("from-env")
    return (flags[0], "1", True) if flags else None


@pytest.mark.parametrize("name", _cases())
def test_every_option_is_read_from_its_environment_variable(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sampled = 0
    for words, command in _walk(name):
        found = _sample(command)
        if found is None:
            continue
        option, text, expected = found
        flag = next(opt for opt in option.opts if opt.startswith("--"))
        variable = "_".join(["CONVERGE", *words, flag[2:]]).upper().replace("-", "_")
        monkeypatch.setenv(variable, text)
        context = _root()
        for word in words:
            parent_command = context.command
            assert isinstance(parent_command, click.Group)
            sub = parent_command.get_command(context, word)
            assert sub is not None
            context = sub.make_context(word, [], parent=context, resilient_parsing=True)
        assert context.params[option.name or ""] == expected, variable
        monkeypatch.delenv(variable)
        sampled += 1
    assert sampled or name == "import", f"no option of `converge {name}` was tried"


@pytest.mark.parametrize("name", _cases())
def test_hidden_options_are_not_read_from_the_environment(name: str) -> None:
    """A testing-only flag (`sidecar --no-validate`) is never switched on by a variable."""
    for words, command in _walk(name):
        for param in command.params:
            if isinstance(param, click.Option) and param.hidden:
                assert not param.allow_from_autoenv, (words, param.opts)


def _all_words() -> list[Any]:
    return [pytest.param(words, id=" ".join(words))
            for name in _names() for words, _ in _walk(name)]


@pytest.mark.parametrize("words", _all_words())
def test_help_exits_0(words: list[str], runner: CliRunner) -> None:
    result = runner.invoke(converge_group(), [*words, "--help"], prog_name="converge")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: converge {' '.join(words)} ")


@pytest.mark.parametrize("words", _all_words())
def test_an_unknown_flag_exits_2_without_a_traceback(words: list[str],
                                                      runner: CliRunner) -> None:
    result = runner.invoke(converge_group(), [*words, "--no-such-flag"],
                           prog_name="converge")
    assert result.exit_code == 2, result.output
    assert "No such option '--no-such-flag'" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_an_old_format_name_still_works() -> None:
    """`converge diff --format text` was documented: it still means `human`."""
    choice = conventions.FormatChoice(["human", "json"])
    assert choice.convert("text", None, None) == "human"
    with pytest.raises(click.BadParameter):
        conventions.FormatChoice(["json"]).convert("text", None, None)


# --- stdout is for machines -----------------------------------------------------------


def _script_repo(name: str, root: Path) -> Path:
    """Write the input files of tests/scripts/NAME.txt under ROOT; return ROOT/repo."""
    script = parse((SCRIPTS / f"{name}.txt").read_text(encoding="utf-8"))
    for path, text in script.sections.items():
        if path not in ("stdout", "stderr"):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    return root / "repo"


@pytest.mark.parametrize("check", [pytest.param(False, id="write"),
                                   pytest.param(True, id="check")])
def test_compile_json_is_alone_on_stdout(check: bool, tmp_path: Path,
                                         runner: CliRunner) -> None:
    repo = _script_repo("test-routing", tmp_path)
    out = tmp_path / "out"
    args = ["compile", str(repo), "-o", str(out), "--format", "json"]
    result = runner.invoke(converge_group(), [*args, *(["--check"] if check else [])])
    assert result.exit_code == (1 if check else 0), result.output
    document = json.loads(result.stdout)
    assert document["summary"]["errors"] == 0
    outcome = document["result"]
    assert outcome["output"] == out.as_posix()
    assert outcome["written"] is not check
    assert outcome["stale"] is (True if check else None)
    assert len(outcome["bundleHash"]) == 64
    assert not [line for line in result.stderr.splitlines() if line.startswith(("{", "["))]
    if check:
        assert outcome["diff"].startswith("--- /dev/null")
        assert "+++ b/manifest.json" in result.stderr  # the diff, for people
        assert result.stderr.endswith(f"converge: {out} is stale: run `converge compile "
                                      f"{repo} -o {out}`\n")
    else:
        assert result.stderr.startswith(f"wrote {out}: ")


def test_compile_json_with_errors_says_nothing_was_written(tmp_path: Path,
                                                           runner: CliRunner) -> None:
    repo = _script_repo("compile-refuses-errors", tmp_path)
    result = runner.invoke(converge_group(), ["compile", str(repo), "-o",
                                              str(tmp_path / "out"), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [d["code"] for d in document["diagnostics"]] == ["promql/syntax",
                                                            "duration/invalid"]
    assert document["result"]["written"] is False
    assert result.stderr == "converge: nothing written: fix the errors above\n"


@pytest.mark.parametrize("output_format", ["github", "sarif"])
def test_compile_machine_formats_keep_progress_off_stdout(output_format: str, tmp_path: Path,
                                                          runner: CliRunner) -> None:
    repo = _script_repo("test-routing", tmp_path)
    result = runner.invoke(converge_group(), ["compile", str(repo), "-o",
                                              str(tmp_path / "out"), "--format", output_format])
    assert result.exit_code == 0, result.output
    assert "wrote" not in result.stdout
    assert result.stderr.startswith("wrote ")
    if output_format == "sarif":
        assert json.loads(result.stdout)["version"] == "2.1.0"


# --- colour -----------------------------------------------------------------------------


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("tty", "no_color", "forced", "expected"), [
    pytest.param(True, None, None, True, id="terminal"),
    pytest.param(False, None, None, False, id="pipe"),
    pytest.param(True, "1", None, False, id="terminal-NO_COLOR"),
    pytest.param(True, "", None, True, id="terminal-empty-NO_COLOR"),
    pytest.param(False, None, True, True, id="pipe---color"),
    pytest.param(True, "1", True, True, id="NO_COLOR---color"),
    pytest.param(True, None, False, False, id="terminal---no-color"),
])
def test_use_color(tty: bool, no_color: str | None, forced: bool | None, expected: bool,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert conventions.use_color(_Stream(tty), forced) is expected  # type: ignore[arg-type]


def _on_terminal(args: list[str], *, stream: str, no_color: bool,
                 cwd: Path) -> tuple[str, str]:
    """Run `converge ARGS` with STREAM (stdout or stderr) on a pseudo-terminal and the
    other on a pipe; return (what the terminal got, what the pipe got)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    if no_color:
        env["NO_COLOR"] = "1"
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(CONVERGE), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=follower if stream == "stdout" else subprocess.PIPE,
            stderr=follower if stream == "stderr" else subprocess.PIPE)
    finally:
        os.close(follower)
    got = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            got += chunk
        pipe = process.stdout if stream == "stderr" else process.stderr
        assert pipe is not None
        with pipe:
            other = pipe.read().decode()
        process.wait(timeout=60)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    return got.decode(), other


@pytest.mark.parametrize("no_color", [pytest.param(False, id="terminal"),
                                      pytest.param(True, id="terminal-NO_COLOR")])
def test_check_colours_a_terminal_unless_NO_COLOR(no_color: bool, tmp_path: Path) -> None:
    _script_repo("promql-syntax", tmp_path)
    terminal, _ = _on_terminal(["check", "repo"], stream="stdout", no_color=no_color,
                               cwd=tmp_path)
    assert "error[promql/syntax]" in terminal
    assert (ESCAPE in terminal) is not no_color


def test_colour_is_decided_on_the_stream_written_to(tmp_path: Path) -> None:
    """compile writes human diagnostics to stderr: a terminal there gets colour, even with
    stdout on a pipe; with stdout on a terminal and stderr on a pipe, none."""
    _script_repo("compile-refuses-errors", tmp_path)
    terminal, piped_out = _on_terminal(["compile", "repo", "-o", "out"], stream="stderr",
                                       no_color=False, cwd=tmp_path)
    assert ESCAPE in terminal and "error[promql/syntax]" in terminal
    assert piped_out == ""
    terminal, piped_err = _on_terminal(["compile", "repo", "-o", "out"], stream="stdout",
                                       no_color=False, cwd=tmp_path)
    assert "error[promql/syntax]" in piped_err and ESCAPE not in piped_err


# --- shell completion -----------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell: str) -> None:
    env = {**os.environ, "_CONVERGE_COMPLETE": f"{shell}_source"}
    result = subprocess.run([str(CONVERGE)], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "_converge_completion" in result.stdout
    assert "_CONVERGE_COMPLETE" in result.stdout


def test_completion_knows_lazy_commands_and_format_names() -> None:
    def complete(line: str) -> list[str]:
        words = line.split(" ")
        env = {**os.environ, "_CONVERGE_COMPLETE": "bash_complete", "COMP_WORDS": line,
               "COMP_CWORD": str(len(words) - 1)}
        result = subprocess.run([str(CONVERGE)], env=env, capture_output=True, text=True,
                                timeout=60, check=True)
        return [item.split(",", 1)[1] for item in result.stdout.splitlines()]

    assert complete("converge sid") == ["sidecar"]
    assert complete("converge check --format ") == ["human", "json", "github", "sarif"]


# --- converge test --format junit -----------------------------------------------------


def _junit(text: str) -> ElementTree.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ElementTree.fromstring(text.encode("utf-8"))


def test_junit_has_a_testcase_per_routing_assertion(tmp_path: Path,
                                                    runner: CliRunner) -> None:
    repo = _script_repo("test-routing", tmp_path)
    routing = repo / "routing.yaml"
    routing.write_text(routing.read_text().replace(
        "name: a warning pages too (wrong)", 'name: a <warning> & "pages" too (wrong)'))
    result = runner.invoke(converge_group(), ["test", str(repo), "--format", "junit"])
    assert result.exit_code == 1, result.output
    root = _junit(result.stdout)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "4", "0")
    [suite] = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("routing", "6",
                                                                              "4")
    cases = suite.findall("testcase")
    assert len(cases) == 6
    failed = [case for case in cases if case.find("failure") is not None]
    assert len(failed) == 4
    first = failed[0]
    assert first.get("name") == 'a <warning> & "pages" too (wrong)'
    assert (first.get("file"), first.get("line")) == (f"{repo}/routing.yaml", "19")
    failure = first.find("failure")
    assert failure is not None
    assert failure.get("message") == "wrong receivers: it does not reach pager"
    assert failure.get("type") == "tests/routing-failed"
    assert f"{repo}/routing.yaml:22:18: error[tests/routing-failed]" in (failure.text or "")
    assert "expected: chat, pager" in (failure.text or "")
    assert ESCAPE not in result.stdout


def test_junit_has_a_testcase_per_rule_test(tmp_path: Path, runner: CliRunner) -> None:
    promtool = realtools.tool("promtool")
    repo = _script_repo("test-rules", tmp_path)
    report = tmp_path / "reports" / "converge.xml"
    report.parent.mkdir()
    result = runner.invoke(converge_group(), ["test", str(repo), "--format", "junit",
                                              "--promtool", promtool, "-o", str(report)])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.endswith(f"wrote {report}: 1 passed, 1 failed\n")
    root = _junit(report.read_text(encoding="utf-8"))
    [rules] = root.findall("testsuite")
    assert (rules.get("name"), rules.get("tests"), rules.get("failures")) == ("rules", "2", "1")
    assert [case.get("name") for case in rules.findall("testcase")] == [
        "a disk at 90% warns", "a disk at 97% pages (two mistakes)"]
    [failure] = rules.findall("testcase/failure")
    assert failure.get("message") == "alert DiskFull at 10m: expected 1 alert, got 2"
    assert "instance:disk_used:percent at 5m: the result differs" in (failure.text or "")


def test_junit_reports_specs_that_do_not_check(tmp_path: Path, runner: CliRunner) -> None:
    repo = _script_repo("test-spec-errors", tmp_path)
    result = runner.invoke(converge_group(), ["test", str(repo), "--format", "junit"])
    assert result.exit_code == 1
    root = _junit(result.stdout)
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "check"
    assert root.get("errors") == str(len(suite.findall("testcase/error"))) != "0"
    assert "error[ref/unresolved]" in result.stderr
    assert result.stderr.endswith("converge: tests not run: fix the errors above\n")
