"""`converge dashboard`: write the Grafana dashboard of converge's own daemons.

A command of its own rather than a bundle target: the dashboard is imported into Grafana
once per fleet, not loaded by any target a sidecar keeps converged, and it depends on no
spec. See `converge.compiler.dashboard` and docs/dashboard.md.
"""

from __future__ import annotations

from pathlib import Path

import click

from converge.compiler import dashboard


@click.command("dashboard")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="File to write  [default: standard output]")
def dashboard_command(output: Path | None) -> None:
    """Write the Grafana dashboard for the daemons' own metrics (sidecar syncs and
    convergence, reload latency, server compiles, notifier deliveries, healer restarts,
    scaler replicas).

    Import it into Grafana; pick the Prometheus data source that scrapes the daemons.
    """
    text = dashboard.render()
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output} (dashboard uid {dashboard.UID})", err=True)
