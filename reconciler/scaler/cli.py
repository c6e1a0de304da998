"""`converge scaler` (run the daemon) and `converge scaler history` (read its decisions)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import click

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
@click.option("--bundle", metavar="DIR|URL",
              help="Compiled bundle directory, or the config server's URL.")
@click.option("--prometheus", metavar="URL", envvar="CONVERGE_PROMETHEUS_URL",
              help="Prometheus (or any server with its query API) the scaling queries run on.")
@click.option("--docker-host", metavar="URL", envvar="DOCKER_HOST",
              help="Docker Engine API (unix:///run/podman/podman.sock, tcp://…); "
                   "default $DOCKER_HOST, else /var/run/docker.sock.")
@click.option("--network", metavar="MODE",
              help="Network of created containers (host, a network name); default: the "
                   "engine's.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="Extra label on every container the scaler creates (repeatable).")
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, metavar="ADDR",
              help="HOST:PORT for /health, /status, /metrics and the history API.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="SQLite file: decisions, container actions, pool state.")
@click.option("--interval", default="15s", show_default=True, metavar="DURATION",
              help="How often containers are reconciled; queries run at each pool's "
                   "scaling.interval.")
@click.option("--notifier-url", metavar="URL", envvar="CONVERGE_NOTIFIER_URL",
              help="converge notifier base URL for events (default: events are only logged).")
@click.option("--notifier-token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the notifier's bearer token (its --token-file).")
@click.option("--token", envvar="CONVERGE_TOKEN", metavar="TOKEN",
              help="Bearer token for the config server (default $CONVERGE_TOKEN).")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json",
              show_default=True)
@click.pass_context
def scaler_group(ctx: click.Context, bundle: str | None, prometheus: str | None,
                 docker_host: str | None, network: str | None, labels: tuple[str, ...],
                 listen: str, db: Path, interval: str, notifier_url: str | None,
                 notifier_token_file: Path | None, token: str | None,
                 log_format: str) -> None:
    """Keep each WorkerPool's container count right for its load, from Prometheus metrics.

    Holds the count when Prometheus fails; see docs/scaler.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not bundle:
        raise click.UsageError("--bundle DIR|URL is required")
    if not prometheus:
        raise click.UsageError("--prometheus URL is required")
    if not prometheus.startswith(("http://", "https://")):
        raise click.BadParameter(f"{prometheus!r} is not an http(s):// URL",
                                 param_hint="'--prometheus'")
    from converge.reconciler.core import runner
    from converge.reconciler.scaler import daemon
    try:
        address = runner.parse_listen(listen)
    except runner.ListenError as error:
        raise click.BadParameter(str(error), param_hint="--listen") from None
    raise SystemExit(daemon.run(daemon.Options(
        bundle=bundle, prometheus=prometheus, listen=address, db=db,
        interval=_seconds(interval), docker_host=docker_host, network=network,
        labels=_labels(labels), notifier_url=notifier_url,
        notifier_token_file=notifier_token_file, token=token, log_format=log_format)))


@scaler_group.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="The scaler's SQLite file.")
@click.option("--pool", help="Only this pool.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
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
    click.echo(_table(["TIME", "POOL", "CHANGE", "MODE", "READY", "REASON"],
                      [[_time(d["time"]), d["pool"],
                        f"{d['previous']} → {d['desired']}" if d["direction"] != "none"
                        else f"{d['desired']}", d["mode"], str(d["current"]), d["reason"]]
                       for d in decisions]) or "no decisions")
    click.echo("")
    click.echo(_table(["TIME", "POOL", "ACTION", "CONTAINER", "RESULT", "REASON"],
                      [[_time(a["time"]), a["pool"], a["action"], a["container"] or "-",
                        a["result"], a["reason"]] for a in actions]) or "no container actions")


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                     .rstrip() for row in [header, *rows])


def _time(value: Any) -> str:
    moment = datetime.datetime.fromtimestamp(float(value), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
