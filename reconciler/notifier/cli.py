"""`converge notifier`: the notifier's command line (see docs/notifier.md)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import click

from converge.compiler.commands import conventions
from converge.reconciler.core import StoreError, cli_tokens, logs, runner, secretaccess
from converge.reconciler.core import tokens as core_tokens
from converge.specs.common import parse_duration

DEFAULT_LISTEN = "127.0.0.1:9095"
DEFAULT_DB = Path(".converge-notifier") / "outbox.db"
BASE_URL_TYPES = ("dingtalk", "wecom", "feishu")


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration such as 30s or 5m") from None


def _listen(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    try:
        return runner.parse_listen(value)
    except runner.ListenError as error:
        raise click.BadParameter(str(error)) from None


def _base_urls(ctx: click.Context, param: click.Parameter,
               values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        kind, sep, url = value.partition("=")
        if not sep or kind not in BASE_URL_TYPES or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{value!r} is not TYPE=URL with TYPE one of "
                                     f"{', '.join(BASE_URL_TYPES)}")
        found[kind] = url
    return found


@click.command("notifier")
@click.option("--bundle", required=True, metavar="DIR|URL",
              help="A compiled bundle directory, or the config server's URL.")
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, callback=_listen,
              metavar="ADDR", help="HOST:PORT (the Project's notifierURL points here).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="The outbox (SQLite).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Bearer tokens for /api/ (events, dead letters), one a line (# comments); "
                   "the first is also sent to the config server. Required unless "
                   "--insecure-no-auth.")
@click.option("--insecure-no-auth", is_flag=True,
              help="Serve /api/ without authentication (trusted setups only; logged).")
@click.option("--dedup-window", default="5m", show_default=True, callback=_duration,
              metavar="DURATION", help="Identical messages within it are delivered once (0s: off).")
@click.option("--max-age", default="24h", show_default=True, callback=_duration,
              metavar="DURATION", help="Dead-letter a message still failing this long after "
                                       "it arrived.")
@click.option("--base-url", "base_urls", multiple=True, callback=_base_urls, metavar="TYPE=URL",
              help="API base URL for a channel type (dingtalk, wecom, feishu), e.g. a proxy.")
@click.option("--reload-interval", default="30s", show_default=True, callback=_duration,
              metavar="DURATION", help="How often to re-read the bundle's channels.")
@click.option("--history-retention", default="30d", show_default=True, callback=_duration,
              metavar="DURATION", help="Delete dead letters older than this (checked every "
                                       "minute in the background).")
@click.option("--alertmanager-url", metavar="URL",
              help="Alertmanager's base URL: an alert a silence covers counts as "
                   "acknowledged and is not escalated (its v2 API is asked before each page).")
@secretaccess.options
@conventions.log_options
def notifier(bundle: str, listen: tuple[str, int], db: Path, token_file: Path | None,
             insecure_no_auth: bool, dedup_window: float, max_age: float, base_urls: dict[str, str],
             reload_interval: float, history_retention: float,
             alertmanager_url: str | None, log_format: str,
             log_level: str, secrets_dir: Path | None,
             secret_env_names: tuple[str, ...], secret_env_prefixes: tuple[str, ...]) -> None:
    """Deliver Alertmanager notifications and daemon events without losing any.

    Takes Alertmanager webhook payloads at /hooks/alertmanager/<channel> and events at
    /api/v1/events, answers 200 only once a message is stored in the outbox, and delivers
    it to DingTalk, WeCom, Feishu, Slack, email or a webhook with retries, rate limits and
    dead letters. Stops gracefully on SIGTERM (exit 0).
    """
    from converge.reconciler.core.runtime import package_version
    from converge.reconciler.notifier.daemon import NotifierDaemon, Settings

    tokens = cli_tokens.serving_tokens(token_file, insecure_no_auth=insecure_no_auth,
                                       read=core_tokens.read) or ()
    logs.configure(daemon="notifier", level=log_level, json_lines=log_format == "json")
    settings = Settings(bundle=bundle, db=db, listen=listen, tokens=tokens,
                        dedup_window=dedup_window, max_age=max_age, base_urls=base_urls,
                        reload_interval=max(1.0, reload_interval),
                        history_retention=history_retention,
                        alertmanager_url=alertmanager_url, version=package_version())
    gc.freeze()  # the modules loaded so far leave the collector's scans: shorter pauses
    try:
        access = secretaccess.from_options(secrets_dir=secrets_dir,
                                           secret_env_names=secret_env_names,
                                           secret_env_prefixes=secret_env_prefixes)
        raise SystemExit(asyncio.run(NotifierDaemon(settings, secret_access=access).serve()))
    except StoreError as error:
        raise click.ClickException(str(error)) from None
