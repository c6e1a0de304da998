"""The `converge` command: one click group, each command in its own module of
`converge.compiler.commands` (the daemons' in `converge.reconciler.<daemon>.cli`).

Command modules are imported only when they run, so `converge check` starts fast. Exit
codes: 0 no errors (warnings allowed), 1 errors found, 2 usage or I/O error, 3 a bug. A bad
spec or a bad flag never shows a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from typing import Any

import click

from converge.compiler.commands import conventions

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
ENV_PREFIX = "CONVERGE"
"""Every option of `converge CMD [SUB]` is also read from `CONVERGE_CMD[_SUB]_OPTION`
(docs/cli.md); an option that names its own variable (`DOCKER_HOST`) reads that first."""


_LAZY_COMMANDS = {
    "check": ("converge.compiler.commands.check", "check"),
    "compile": ("converge.compiler.commands.compile", "compile_command"),
    "dashboard": ("converge.compiler.commands.dashboard", "dashboard_command"),
    "demo": ("converge.reconciler.demo.cli", "demo"),
    "diff": ("converge.compiler.commands.diff", "diff_command"),
    "fmt": ("converge.compiler.commands.fmt", "fmt_command"),
    "healer": ("converge.reconciler.healer.cli", "healer_group"),
    "import": ("converge.compiler.commands.import_", "import_group"),
    "notifier": ("converge.reconciler.notifier.cli", "notifier"),
    "scaler": ("converge.reconciler.scaler.cli", "scaler_group"),
    "schema": ("converge.compiler.commands.schema", "schema"),
    "serve": ("converge.reconciler.server.cli", "serve"),
    "sidecar": ("converge.reconciler.sidecar.cli", "sidecar"),
    "test": ("converge.compiler.commands.test", "command"),
    "watch": ("converge.compiler.commands.watch", "watch_command"),
}
"""Every command's module, imported only when it runs (or `--help` lists it), so that
`converge check` imports nothing of the others."""


class _Group(click.Group):
    """Loads heavy commands lazily; turns unexpected failures into one-line messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # `--version` is not read from $CONVERGE_VERSION
            if isinstance(param, click.Option):
                param.allow_from_autoenv = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            from converge.compiler.commands import extras

            if extras.needs_extra(cmd_name):
                return extras.placeholder(cmd_name)
            module_name, attribute = _LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            conventions.name_env_vars(command, f"{ENV_PREFIX}_{cmd_name.upper()}")
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


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from converge.compiler.commands import about

    click.echo(about.describe())
    ctx.exit()


_exit_without_teardown = False
"""Set by `check` and `compile` (`exit_fast`): they leave no thread, file or process behind, only a
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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
                                           "auto_envvar_prefix": ENV_PREFIX})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version (and the commit of a checkout).")
def main() -> None:
    """converge: monitoring configuration as code.

    Validate alert rules, channels, routing, worker pools and healing policies kept as
    YAML specs in Git, and render what Prometheus, vmalert and Alertmanager load.
    """


def exit_fast() -> None:
    global _exit_without_teardown
    _exit_without_teardown = True


def version() -> str:
    """The installed version, as the manifest and SARIF record it."""
    from converge.compiler.commands import about

    return about.version()


