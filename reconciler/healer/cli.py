"""`converge healer` (run the daemon) and `converge healer history` (read its records)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from converge.compiler.commands import conventions
from converge.reconciler.core import container_cli
from converge.specs.common import parse_duration

DEFAULT_DB = "converge-healer.db"
DEFAULT_LISTEN = "127.0.0.1:9404"
EXIT_USAGE = 2

__all__ = ["healer_group"]


@click.group("healer", invoke_without_command=True)
@container_cli.options(listen=DEFAULT_LISTEN, db=DEFAULT_DB,
                       db_help="SQLite file: failure records, health, budgets.")
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Checks and restarts run in parallel on this many threads.")
@click.option("--retention", default="30d", show_default=True, metavar="DURATION",
              help="Delete resolved failure records older than this (hourly, in the "
                   "background).")
@click.pass_context
def healer_group(ctx: click.Context, /, workers: int, retention: str, **shared: Any) -> None:
    """Watch containers, restart failed ones within a budget, record every failure.

    Applies the HealingPolicy specs of the bundle to the containers each selects. See
    docs/healer.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    try:
        keep = parse_duration(retention)
    except ValueError:
        raise click.BadParameter(f"{retention!r} is not a duration such as 30d",
                                 param_hint="--retention") from None
    common = container_cli.common(**shared)
    from converge.reconciler.healer import daemon

    raise SystemExit(daemon.run(daemon.Options(common=common, workers=workers,
                                               retention=keep)))


@healer_group.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="The healer's SQLite file.")
@click.option("--container", metavar="NAME|ID", help="Only this container (name or id prefix).")
@click.option("--service", help="Only this service.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True,
              help="At most this many rows of each table.")
@conventions.format_option("human", "json")
def history(db: Path, container: str | None, service: str | None, limit: int,
            output_format: str) -> None:
    """Failure records (newest first), each container's health, and MTBF per service."""
    from converge.reconciler.core.store import StoreError
    from converge.reconciler.healer.records import Records
    if not db.exists():
        click.echo(f"converge: error: {db}: no such database (see --db)", err=True)
        raise SystemExit(EXIT_USAGE)
    try:
        records = Records(db)
    except StoreError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    try:
        found = records.history(container=container, service=service, limit=limit)
        health = records.health()
        mtbf = records.mtbf()
    finally:
        records.close()
    if output_format == "json":
        click.echo(json.dumps({"records": found, "health": health, "mtbf": mtbf}, indent=2))
        return
    table, time = container_cli.table, container_cli.timestamp
    click.echo(table(["DETECTED", "CONTAINER", "TYPE", "ACTION", "RESULT", "RESOLVED", "MESSAGE"],
                     [[time(r["detected_at"]), r["container_name"], r["failure_type"],
                       r["action"], r["action_result"], time(r["resolved_at"]), r["message"]]
                      for r in found]) or "no failure records")
    click.echo("")
    click.echo(table(["CONTAINER", "SERVICE", "POLICY", "STATUS", "PHASE", "FAILURES",
                      "RESTARTS", "LAST RESTART"],
                     [[h["container_name"], h["service"], h["policy"], h["status"], h["phase"],
                       str(h["consecutive_failures"]), str(h["total_restarts"]),
                       time(h["last_restart"])] for h in health]) or "no containers")
    if mtbf:
        click.echo("")
        click.echo(table(["SERVICE", "MTBF"],
                         [[s, container_cli.duration_text(v)] for s, v in mtbf.items()]))
