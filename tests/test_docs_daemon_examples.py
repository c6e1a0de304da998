"""Every shell example in README.md and docs/*.md that starts a daemon (`converge serve`,
`sidecar`, `notifier`, `healer`, `scaler`) parses against the real click commands: a flag
renamed or removed in the code fails here with the page and line of the example."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from convergecli import (
    check_converge_args,
    check_flags,
    command_lines,
    converge_args,
    simple_commands,
)

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DAEMONS = ("serve", "sidecar", "notifier", "healer", "scaler")
SHELL_LANGUAGES = {"sh", "shell", "bash", "zsh", "console", "shell-session"}

FEWEST = {"serve": 2, "sidecar": 5, "notifier": 1, "healer": 1, "scaler": 1}
"""How many examples of each daemon the pages show at least, so that a change to how
they are found cannot make this test pass on none."""

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class Example:
    """One `converge <daemon> …` command of a page's shell block."""

    page: str
    line: int
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: converge {shlex.join(self.argv)}"


def shell_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """Each fenced code block: its language, the line number of its first line, its lines."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        index += 1
        if not opening:
            continue
        fence, language = opening.groups()
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        first, body = index + 1, []
        while index < len(lines) and not closing.match(lines[index]):
            body.append(lines[index])
            index += 1
        index += 1
        yield language.lower(), first, body


def _alternatives(word: str) -> list[str]:
    """A synopsis's `[--once]` is `--once`; its `json|text` is `json` or `text`."""
    return word.removeprefix("[").removesuffix("]").split("|")


def variants(args: list[str]) -> list[tuple[str, ...]]:
    """A synopsis (`--target prometheus|alertmanager|vmalert [--once]`) as one command
    line per alternative, so every alternative is parsed; an example stays as it is."""
    choices = [_alternatives(word) for word in args]
    count = max((len(each) for each in choices), default=1)
    return [tuple(each[min(n, len(each) - 1)] for each in choices) for n in range(count)]


def examples() -> list[Example]:
    found: list[Example] = []
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        for language, first, body in shell_blocks(path.read_text(encoding="utf-8")):
            if language not in SHELL_LANGUAGES:
                continue
            for line, text in command_lines(language, first, body):
                for words in simple_commands(text):
                    args = converge_args(words)
                    if args and args[0] in DAEMONS:
                        found.extend(Example(page, line, argv) for argv in variants(args))
    return found


EXAMPLES = examples()


def test_every_daemon_has_its_examples() -> None:
    counts = {daemon: len({(e.page, e.line) for e in EXAMPLES if e.argv[0] == daemon})
              for daemon in DAEMONS}
    short = {daemon: counts[daemon] for daemon in DAEMONS if counts[daemon] < FEWEST[daemon]}
    assert not short, f"fewer daemon examples found than the docs have: {short} < {FEWEST}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.page}:{e.line}:{e.argv[0]}")
def test_daemon_example_parses(example: Example) -> None:
    try:
        check_converge_args(example.argv)
    except (click.ClickException, click.exceptions.Exit, AssertionError) as error:
        message = error.format_message() if isinstance(error, click.ClickException) \
            else str(error) or type(error).__name__
        pytest.fail(f"{example}\n  no longer runs: {message}", pytrace=False)


# --- prose: `converge <daemon> --flag …` in a sentence or a table ------------------------

FEWEST_IN_PROSE = 8
"""Inline code spans that run a daemon with flags (README's command table, getting-started)."""


def _inline_spans(markdown: str) -> Iterator[tuple[int, str]]:
    """Each inline code span outside fenced blocks, with its line."""
    fenced = {line for _, first, body in shell_blocks(markdown)
              for line in range(first - 1, first + len(body) + 1)}
    lines = markdown.splitlines()
    prose = "\n".join("" if number in fenced else text
                      for number, text in enumerate(lines, start=1))
    for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", prose):
        yield prose.count("\n", 0, match.start()) + 1, match.group(1)


def prose_examples() -> list[Example]:
    found: list[Example] = []
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        for line, span in _inline_spans(path.read_text(encoding="utf-8")):
            words = span.replace("\\|", "|").split()
            if len(words) > 2 and words[0] == "converge" and words[1] in DAEMONS:
                found.extend(Example(page, line, argv) for argv in variants(words[1:]))
    return found


PROSE = prose_examples()


def test_prose_has_its_daemon_commands() -> None:
    spans = {(e.page, e.line, e.argv[0]) for e in PROSE
             if any(w.startswith("-") for w in e.argv)}
    assert len(spans) >= FEWEST_IN_PROSE, sorted(spans)


@pytest.mark.parametrize("example", PROSE, ids=lambda e: f"{e.page}:{e.line}:{e.argv[0]}")
def test_daemon_flags_in_prose_exist(example: Example) -> None:
    try:
        check_flags(example.argv)
    except AssertionError as error:
        pytest.fail(f"{example}\n  {error}", pytrace=False)


# --- the extraction itself ------------------------------------------------------------

def test_a_block_with_continuations_env_and_comments() -> None:
    page = "\n".join([
        "```sh",
        "converge compile repo -o out",
        "TOKEN=… OTHER='a b' \\",
        "  converge notifier --bundle out   # it's on 127.0.0.1:9095",
        "converge healer --bundle \"$BUNDLE\" --listen 127.0.0.1:9404 | tee log 2>&1",
        "```",
        "```console",
        "$ .venv/bin/converge scaler --bundle out \\",
        "    --prometheus http://x/#frag",
        "converge serve --is-output-not-a-command",
        "```",
        "```",
        "converge serve --in-a-diagram-not-a-shell-block",
        "```",
    ])
    found = []
    for language, first, body in shell_blocks(page):
        if language not in SHELL_LANGUAGES:
            continue
        for line, text in command_lines(language, first, body):
            for words in simple_commands(text):
                args = converge_args(words)
                if args and args[0] in DAEMONS:
                    found.append((line, args))
    assert found == [
        (3, ["notifier", "--bundle", "out"]),
        (5, ["healer", "--bundle", "$BUNDLE", "--listen", "127.0.0.1:9404"]),
        (8, ["scaler", "--bundle", "out", "--prometheus", "http://x/#frag"]),
    ]


def test_a_synopsis_is_parsed_once_per_alternative() -> None:
    assert variants(["sidecar", "--target", "prometheus|vmalert", "[--log-format", "json|text]",
                     "[--once]"]) == [
        ("sidecar", "--target", "prometheus", "--log-format", "json", "--once"),
        ("sidecar", "--target", "vmalert", "--log-format", "text", "--once"),
    ]


def test_a_flag_that_does_not_exist_is_caught() -> None:
    with pytest.raises(click.NoSuchOption):
        check_converge_args(["healer", "--bundle", "out", "--no-such-flag"])
    with pytest.raises(click.BadParameter):
        check_converge_args(["sidecar", "--source", "…", "--target", "grafana", "--dest", "d",
                             "--reload-url", "u"])


def test_variables_and_elisions_stand_for_values() -> None:
    context = check_converge_args(["sidecar", "--source", "…", "--target", "$TARGET",
                                   "--dest", "d", "--reload-url", "u", "--interval=$EVERY"])
    assert context.params["target"] == "prometheus"
    assert context.params["interval"] == "30s"
    healer = check_converge_args(["healer", "history", "…", "--limit", "$N"])
    assert healer.command_path == "converge healer history"
