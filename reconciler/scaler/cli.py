"""`converge scaler` (run the daemon) and `converge scaler history` (read its decisions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from converge.compiler.commands import conventions
from converge.reconciler.core import container_cli, secretaccess

DEFAULT_DB = "converge-scaler.db"
DEFAULT_LISTEN = "127.0.0.1:9403"
EXIT_USAGE = 2

__all__ = ["scaler_group"]


def _seconds(text: str) -> float:
    from converge.specs.common import parse_duration
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--interval") from None
    if seconds <= 0:
        raise click.BadParameter("must be above 0", param_hint="--interval")
    return seconds


def _labels(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found = []
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--label")
        found.append((key, text))
    return tuple(found)


@click.group("scaler", invoke_without_command=True)
@container_cli.options(listen=DEFAULT_LISTEN, db=DEFAULT_DB,
                       db_help="SQLite file: decisions, container actions, pool state.")
@click.option("--prometheus", metavar="URL", envvar="CONVERGE_PROMETHEUS_URL",
              help="Prometheus (or any server with its query API) the scaling queries run on.")
@click.option("--network", metavar="MODE",
              help="Network of created containers (host, a network name); default: the "
                   "engine's.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="Extra label on every container the scaler creates (repeatable).")
@click.option("--interval", default="15s", show_default=True, metavar="DURATION",
              help="How often containers are reconciled; queries run at each pool's "
                   "scaling.interval.")
@secretaccess.options
@click.pass_context
def scaler_group(ctx: click.Context, /, prometheus: str | None, network: str | None,
                 labels: tuple[str, ...], interval: str, secrets_dir: Path | None,
                 secret_env_names: tuple[str, ...], secret_env_prefixes: tuple[str, ...],
                 **shared: Any) -> None:
    """Keep each WorkerPool's container count right for its load, from Prometheus metrics.

    Holds the count when Prometheus fails; see docs/scaler.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    common = container_cli.common(**shared)
    if not prometheus:
        raise click.UsageError("--prometheus URL is required")
    if not prometheus.startswith(("http://", "https://")):
        raise click.BadParameter(f"{prometheus!r} is not an http(s):// URL",
                                 param_hint="'--prometheus'")
    from converge.reconciler.scaler import daemon

    raise SystemExit(daemon.run(daemon.Options(
        common=common, prometheus=prometheus, interval=_seconds(interval), network=network,
        labels=_labels(labels), secret_access=secretaccess.from_options(
            secrets_dir=secrets_dir, secret_env_names=secret_env_names,
            secret_env_prefixes=secret_env_prefixes))))


@scaler_group.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="The scaler's SQLite file.")
@click.option("--pool", help="Only this pool.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True,
              help="At most this many rows of each table.")
@conventions.format_option("human", "json")
def history(db: Path, pool: str | None, limit: int, output_format: str) -> None:
    """Decisions (newest first) with their inputs and reasons, and container actions."""
    from converge.reconciler.core.store import StoreError
    from converge.reconciler.scaler.records import Records
    if not db.exists():
        click.echo(f"converge: error: {db}: no such database (see --db)", err=True)
        raise SystemExit(EXIT_USAGE)
    try:
        records = Records(db)
    except StoreError as error:
        click.echo(f"converge: error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    try:
        decisions = records.history(pool=pool, limit=limit)
        actions = records.actions(pool=pool, limit=limit)
    finally:
        records.close()
    if output_format == "json":
        click.echo(json.dumps({"decisions": decisions, "actions": actions}, indent=2))
        return
    table, time = container_cli.table, container_cli.timestamp
    click.echo(table(["TIME", "POOL", "CHANGE", "MODE", "READY", "REASON"],
                      [[time(d["time"]), d["pool"],
                        f"{d['previous']} → {d['desired']}" if d["direction"] != "none"
                        else f"{d['desired']}", d["mode"], str(d["current"]), d["reason"]]
                       for d in decisions]) or "no decisions")
    click.echo("")
    click.echo(table(["TIME", "POOL", "ACTION", "CONTAINER", "RESULT", "REASON"],
                      [[time(a["time"]), a["pool"], a["action"], a["container"] or "-",
                        a["result"], a["reason"]] for a in actions]) or "no container actions")
