"""The read-only web console of `converge serve` under `/ui/` (see docs/server.md).

Server-rendered pages (Jinja2, autoescaped) for the fleet, the last compiles and the
other daemons' `/status`; the templates and the stylesheet ship as package data here.
"""

from __future__ import annotations

from converge.reconciler.server.console.routes import PREFIX, add_routes, environment

__all__ = ["PREFIX", "add_routes", "environment"]
