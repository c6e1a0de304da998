"""`converge …` command lines written in the docs and the workflows: found in their shell,
and parsed against the real click commands.

The command group is found through the `converge` console script's entry point (the
installed one, else pyproject.toml's `[project.scripts]`), not through a module path
written here, so moving the CLI's module breaks no test that uses this.
"""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDERS = ("…", "...")
"""A value elided in prose (`--source …`), or arguments elided altogether (`sidecar … --once`)."""

_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


def _script_targets() -> list[str]:
    """Where the `converge` console script points (`module:function`): as installed, then
    as pyproject.toml now says (an editable install keeps the entry point it was installed
    with, until it is installed again)."""
    installed = [script.value for script in entry_points(group="console_scripts",
                                                         name="converge")]
    with (ROOT / "pyproject.toml").open("rb") as handle:
        declared = tomllib.load(handle)["project"]["scripts"]["converge"]
    return list(dict.fromkeys([*installed, declared]))


def _load(target: str) -> click.Group | None:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not module_name.startswith(error.name):
            raise  # the module exists and one of its own imports fails: say so
        return None
    found = getattr(module, attribute)
    if isinstance(found, click.Group):
        return found
    # The script is a plain function wrapping the group (`run` calls `main()`): the group
    # is the one in its module that no other group there lists as a subcommand.
    groups = [value for value in vars(module).values() if isinstance(value, click.Group)]
    nested = {id(sub) for group in groups for sub in group.commands.values()}
    [root] = [group for group in groups if id(group) not in nested]
    return root


@cache
def converge_group() -> click.Group:
    """The click group the `converge` console script runs."""
    targets = _script_targets()
    for target in targets:
        group = _load(target)
        if group is not None:
            return group
    raise AssertionError(f"the converge console script's module does not import: {targets}")


def shown_flags(command: click.Command) -> set[str]:
    """Every flag `converge … --help` shows for the command (hidden ones left out)."""
    return {flag for param in command.params
            if isinstance(param, click.Option) and not param.hidden
            for flag in (*param.opts, *param.secondary_opts)}


def _stand_in(option: click.Option) -> str:
    """A value the option takes, for one written as `$VAR` or `…`."""
    if isinstance(option.type, click.Choice):
        return str(option.type.choices[0])
    default = option.default
    if isinstance(default, list | tuple):
        default = default[0] if default else None
    if isinstance(default, str | int | float) and not isinstance(default, bool):
        return str(default)  # (not None, a callable, or click 8.3's unset sentinel)
    if isinstance(option.type, click.types.IntParamType | click.types.FloatParamType):
        return "1"
    return "x"


def _placeholder(value: str) -> bool:
    return value in PLACEHOLDERS or bool(_VARIABLE.search(value))


def _with_stand_ins(command: click.Command, args: Sequence[str]) -> list[str]:
    """ARGS with each option value that is a shell variable (`"$INTERVAL"`) or an elision
    (`…`) replaced by a value the option takes, and bare elisions left out: what the
    example means, with whatever its reader fills in."""
    by_flag = {flag: param for param in command.params if isinstance(param, click.Option)
               for flag in (*param.opts, *param.secondary_opts)}
    result: list[str] = []
    waiting: click.Option | None = None
    for arg in args:
        if waiting is not None:
            result.append(_stand_in(waiting) if _placeholder(arg) else arg)
            waiting = None
            continue
        if arg in PLACEHOLDERS:
            continue
        flag, equals, value = arg.partition("=")
        option = by_flag.get(flag)
        if option is not None and not option.is_flag and not option.count:
            if not equals:
                waiting = option
            elif _placeholder(value):
                arg = f"{flag}={_stand_in(option)}"
        result.append(arg)
    return result


def check_flags(args: Sequence[str]) -> click.Command:
    """A fragment of prose (`converge sidecar --source <server>`, a synopsis): each word
    naming a subcommand names one, and each flag is one that the (sub)command it follows
    shows in `--help`; whether the fragment is complete is not asked. Returns the
    innermost command."""
    context = click.Context(converge_group(), info_name="converge")
    command = converge_group().get_command(context, args[0])
    assert command is not None, f"no command `converge {args[0]}`"
    path = f"converge {args[0]}"
    for word in args[1:]:
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            assert flag in shown_flags(command), f"`{path}` has no {flag}"
        elif isinstance(command, click.Group) and word in command.list_commands(context):
            found = command.get_command(context, word)
            assert found is not None
            command, path = found, f"{path} {word}"
    return command


def _unparsed(context: click.Context) -> list[str]:
    """What a group left for its subcommand: the subcommand's name and its arguments."""
    state = vars(context)  # click 8.2 renamed protected_args (now a deprecated property)
    protected: list[str] = state.get("_protected_args", state.get("protected_args", []))
    return [*protected, *context.args]


def check_converge_args(args: Sequence[str]) -> click.Context:
    """Parse `converge ARGS` (subcommands of subcommands included) as click would, with
    `resilient_parsing` off: an unknown command or flag, a missing required option or a
    value the option refuses raises `click.ClickException` (or `AssertionError` for a
    flag `--help` hides). Returns the innermost command's context, whose `params` hold
    the parsed values."""
    if not args:
        raise AssertionError("`converge` without a command")
    context = click.Context(converge_group(), info_name="converge")
    if args[0].startswith("-"):  # `converge --version`: the group's own flags
        unknown = set(args) - shown_flags(context.command) - set(context.help_option_names)
        assert not unknown, f"`converge` has no {sorted(unknown)}"
        return context
    rest = list(args)
    while True:
        group = context.command
        assert isinstance(group, click.Group)
        name, rest = rest[0], rest[1:]
        command = group.get_command(context, name)
        if command is None:
            raise AssertionError(f"no command `{context.command_path} {name}`")
        own = _with_stand_ins(command, rest)
        context = command.make_context(name, list(own), parent=context)
        remaining = _unparsed(context) if isinstance(command, click.Group) else []
        mine = own[:len(own) - len(remaining)]
        used = {arg.split("=", 1)[0] for arg in mine if arg.startswith("-") and arg != "-"}
        hidden = used - shown_flags(command)
        assert not hidden, f"`{context.command_path}` has no {sorted(hidden)}"
        if not remaining:
            return context
        rest = remaining


# --- reading shell: the `converge …` commands of a doc's block or a workflow's script ---

PROMPTED = {"console", "shell-session"}
"""Block languages whose commands are the lines after a `$ ` prompt, the rest output."""

_OPERATORS = {"|", "||", "&&", ";", "&"}
_REDIRECT = re.compile(r"^\d*>>?(&\d+)?$")
_ATTACHED_REDIRECT = re.compile(r"^\d*>>?\S")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PREFIXES = {"exec", "sudo", "env", "command", "time", "!", "if", "then", "do", "else",
             "elif", "while", "until"}
_ARRAY = re.compile(r"^\$\{#?\w+\[[@*]\]\}$")
"""`"${extra[@]}"`: zero or more words (a workflow's extra arguments)."""


def _without_comment(line: str) -> str:
    """LINE up to an unquoted `#` that starts a word, as the shell reads it."""
    quote, escaped = "", False
    for position, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position]
    return line


def command_lines(language: str, first: int, body: list[str]) -> Iterator[tuple[int, str]]:
    """The commands of a block of shell, continuation lines (`\\`) joined, each with the
    number of its first line (the block's first line is FIRST)."""
    prompted = language in PROMPTED
    pending: list[str] = []
    start = first
    for number, raw in enumerate(body, start=first):
        line = raw
        if not pending:
            if prompted:
                if not line.lstrip().startswith("$ "):
                    continue
                line = line.lstrip()[2:]
            start = number
        line = _without_comment(line).rstrip()
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def simple_commands(line: str) -> Iterator[list[str]]:
    """The words of each command of a pipeline or list, without redirections."""
    words: list[str] = []
    skip_next = False
    for word in shlex.split(line):
        ends_list = len(word) > 1 and word.endswith(";")  # `[ -d out ];`, `--check;`
        word = word[:-1] if ends_list else word
        if skip_next:
            skip_next = False
        elif word in _OPERATORS:
            yield words
            words = []
        elif _REDIRECT.match(word):
            skip_next = True
        elif not _ATTACHED_REDIRECT.match(word):
            words.append(word)
        if ends_list:
            yield words
            words = []
    yield words


def converge_args(words: list[str]) -> list[str] | None:
    """The arguments after `converge` when WORDS run converge (after `VAR=value …`,
    `exec`, `sudo`, `env`, `if`, `then` …), else None. An array expansion
    (`"${extra[@]}"`, zero or more words) is left out."""
    rest = list(words)
    while rest and (_ASSIGNMENT.match(rest[0]) or rest[0] in _PREFIXES):
        rest.pop(0)
    if rest and (rest[0] == "converge" or rest[0].endswith("/converge")):
        return [word for word in rest[1:] if not _ARRAY.match(word)]
    return None
