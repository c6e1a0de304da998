"""What every `converge` command does the same way (docs/cli.md): the `--format` names,
when output is coloured, and the daemons' logging options.

One place, so a new command follows the convention by using it, and
tests/test_cli_conventions.py walks every command to check that it does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import click

FORMATS = ("human", "json", "github", "sarif", "markdown", "junit")
"""Every name `--format` takes, across commands: `human` (the default, for people), `json`
(for tools), and `github` (workflow-command annotations), `sarif`, `markdown` (a
pull-request comment) and `junit` (test reports) where a command has them."""

ALIASES = {"text": "human"}
"""Old names still accepted (and not listed in `--help`): `converge diff --format text`."""

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")

_F = TypeVar("_F", bound=Callable[..., Any])


class FormatChoice(click.Choice):  # type: ignore[type-arg]
    """A `click.Choice` of names from `FORMATS` that also takes their `ALIASES`."""

    def __init__(self, names: Sequence[str]) -> None:
        unknown = set(names) - set(FORMATS)
        if unknown:
            raise ValueError(f"not in the shared --format vocabulary: {sorted(unknown)}")
        super().__init__(list(names))

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and ALIASES.get(value) in self.choices:
            value = ALIASES[value]
        return super().convert(value, param, ctx)


def format_option(*names: str, default: str = "human",
                  help: str = "How to print the results.") -> Callable[[_F], _F]:
    """`--format NAME`, stored as `output_format`, one of NAMES (names from `FORMATS`)."""
    return click.option("--format", "output_format", type=FormatChoice(names), default=default,
                        show_default=True, help=help)


def color_option() -> Callable[[_F], _F]:
    """`--color/--no-color`: force colour on or off (default: `use_color` decides)."""
    return click.option("--color/--no-color", default=None,
                        help="Colour human output (default: on a terminal, unless NO_COLOR "
                             "is set).")


def use_color(stream: IO[str], forced: bool | None = None) -> bool:
    """Whether to colour what is written to STREAM: as `--color`/`--no-color` says, else
    only when STREAM is a terminal and `NO_COLOR` is unset or empty (https://no-color.org).
    """
    if forced is not None:
        return forced
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def cache_options(function: _F) -> _F:
    """`--cache-dir DIR` and `--no-cache`: where the per-file cache lives (docs/cache.md),
    or not to use it; stored as `cache_dir` and `use_cache`."""
    function = click.option(
        "--cache/--no-cache", "use_cache", default=True, show_default=True,
        help="Read and write the per-file cache; --no-cache does all the work.")(function)
    return click.option(
        "--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="The per-file cache directory (default: $XDG_CACHE_HOME/converge, else "
             "~/.cache/converge).")(function)


def log_options(function: _F) -> _F:
    """`--log-level` and `--log-format`, the same on every daemon (see
    `converge.reconciler.core.logs.configure`)."""
    function = click.option(
        "--log-format", type=click.Choice(LOG_FORMATS), default="json", show_default=True,
        help="Logs on stderr: one JSON object a line, or plain text.")(function)
    return click.option(
        "--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
        help="The least severe log records written.")(function)


def name_env_vars(command: click.Command, prefix: str) -> None:
    """Let each option of COMMAND (and of its subcommands) be read from
    `PREFIX_<OPTION>`, named after its long flag (`--format`: `CONVERGE_CHECK_FORMAT`).

    click's own `auto_envvar_prefix` names the variable after the parameter's Python name
    (`output_format`); that one still works too, after any variable the option names
    itself (`DOCKER_HOST`). Idempotent: commands are module-level objects.
    """
    for param in command.params:
        if not isinstance(param, click.Option) or not param.allow_from_autoenv:
            continue
        if param.hidden:  # testing-only flags (sidecar --no-validate) stay off the environment
            param.allow_from_autoenv = False
            continue
        longs = [opt for opt in param.opts if opt.startswith("--")]
        if not longs:
            continue
        name = f"{prefix}_{longs[0][2:].upper().replace('-', '_')}"
        current = [] if param.envvar is None else (
            [param.envvar] if isinstance(param.envvar, str) else list(param.envvar))
        if name not in current:
            param.envvar = [*current, name]
    if isinstance(command, click.Group):
        for sub_name, sub in command.commands.items():
            name_env_vars(sub, f"{prefix}_{sub_name.upper().replace('-', '_')}")
