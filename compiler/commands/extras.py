"""Which commands need the `daemons` extra, and what a lean install says instead of a
traceback when one of them is started without it.

`pip install converge-gitops` is the core CI needs (check, compile, test, diff, fmt, import,
schema, dashboard); the daemons, `watch` and the demo need `converge-gitops[daemons]`. The
test is cheap (module lookups, no import) and runs only when such a command is loaded.
"""

from __future__ import annotations

import importlib.util

import click

INSTALL = "pip install 'converge-gitops[daemons]'"

DAEMON_COMMANDS = {
    "demo": "Run converge's whole loop on loopback ports.",
    "healer": "Restart failed containers within a budget.",
    "notifier": "Deliver Alertmanager notifications and daemon events.",
    "scaler": "Keep each WorkerPool's container count right for its load.",
    "serve": "Compile a Git repository of specs and serve each target's bundle.",
    "sidecar": "Keep one Prometheus, Alertmanager or vmalert on the compiled bundle.",
    "watch": "Compile the specs again on every change.",
}
"""Commands that need the extra, with a one-line summary for `--help` when it is missing."""

MODULES = ("aiohttp", "httpx", "prometheus_client", "docker", "watchdog", "rich", "psycopg",
           "psycopg_pool")
"""The top-level modules the `daemons` extra installs (its distributions in pyproject.toml)."""


def missing_modules() -> list[str]:
    """The extra's modules this Python cannot import."""
    return [name for name in MODULES if importlib.util.find_spec(name) is None]


def needs_extra(command: str) -> bool:
    """Whether `command` cannot run here because the `daemons` extra is not installed."""
    return command in DAEMON_COMMANDS and bool(missing_modules())


def placeholder(command: str) -> click.Command:
    """A stand-in for `command` that says which `pip install` line to run (exit 2)."""

    def explain(args: tuple[str, ...]) -> None:  # whatever was given: the answer is the same
        click.echo(f"converge: error: `converge {command}` needs the daemons extra, which is "
                   f"not installed (missing: {', '.join(missing_modules())}).\n"
                   f"Install it with: {INSTALL}", err=True)
        raise SystemExit(2)

    return click.Command(
        command, callback=explain, add_help_option=False,
        help=f"{DAEMON_COMMANDS[command]} (needs: {INSTALL})",
        short_help=f"(not installed: {INSTALL})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                          "allow_interspersed_args": False},
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)])
