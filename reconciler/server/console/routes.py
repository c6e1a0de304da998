"""The console's routes under `/ui/`: read-only HTML pages over the server's state.

Each handler reads state off the event loop (`asyncio.to_thread` for SQLite, async
httpx for the other daemons), turns it into a page record with `pages`, and renders a
Jinja2 template (autoescaped). Everything a page loads is served from here: no CDN, no
web font, and a Content-Security-Policy that forbids anything else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx
import jinja2
from aiohttp import web

from converge.reconciler.server.console import daemons, pages

if TYPE_CHECKING:
    from converge.reconciler.server.service import Service

PREFIX = "/ui/"
COMPILES_SHOWN = 20
REFRESH = 15
"""Seconds between reloads of the fleet and daemons pages (a `<meta>` refresh, no script)."""
_CLIENT = web.AppKey("converge_console_client", httpx.AsyncClient)
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def environment() -> jinja2.Environment:
    """The templates shipped in `reconciler/server/console/templates`, autoescaped."""
    return jinja2.Environment(loader=jinja2.PackageLoader("converge.reconciler.server.console"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def add_routes(app: web.Application, server: Service) -> None:
    """Register the console's pages and stylesheet on `app`."""
    console = _Console(server)
    app.cleanup_ctx.append(_client)
    router = app.router
    router.add_get(PREFIX.rstrip("/"), _to_prefix)
    router.add_get(PREFIX, console.fleet)
    router.add_get(PREFIX + "compiles", console.compiles)
    router.add_get(PREFIX + "daemons", console.daemons)
    router.add_get(PREFIX + "console.css", console.stylesheet)


async def _to_prefix(request: web.Request) -> web.Response:
    """`/ui` → `/ui/`, keeping the query (a `?token=` still sets the cookie there)."""
    query = request.rel_url.raw_query_string  # as sent: a `+` in a token stays a `+`
    raise web.HTTPPermanentRedirect(PREFIX + (f"?{query}" if query else ""))


async def _client(app: web.Application) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=daemons.TIMEOUT) as client:
        app[_CLIENT] = client
        yield


class _Console:
    def __init__(self, server: Service) -> None:
        self.server = server
        self.templates = environment()
        self.css = (resources.files("converge.reconciler.server.console") / "static" / "console.css"
                    ).read_bytes()

    def _render(self, name: str, **context: Any) -> web.Response:
        html = self.templates.get_template(name).render(**context)
        return web.Response(text=html, content_type="text/html", headers=_HEADERS)

    async def fleet(self, request: web.Request) -> web.Response:
        state = self.server.state
        rows = await asyncio.to_thread(state.fleet, cluster_id=None, target=None)
        snapshot = self.server.reconciler.published
        serving = {t: b.hash for t, b in snapshot.targets.items()} if snapshot else {}
        page = pages.fleet_page(rows, serving=serving,
                                commit=snapshot.commit if snapshot else None,
                                bundle_hash=snapshot.bundle_hash if snapshot else None,
                                now=time.time())
        return self._render("fleet.html", page=page, active="fleet", refresh=REFRESH)

    async def compiles(self, request: web.Request) -> web.Response:
        attempts = await asyncio.to_thread(self.server.state.attempts, COMPILES_SHOWN)
        return self._render("compiles.html", active="compiles",
                            entries=pages.compiles_page(attempts, now=time.time()))

    async def daemons(self, request: web.Request) -> web.Response:
        found = await daemons.fetch_all(request.app[_CLIENT], self.server.settings.daemons)
        now = time.time()
        views = [pages.daemon_view(f.name, f.url, f.payload, problem=f.problem, now=now)
                 for f in found]
        return self._render("daemons.html", active="daemons", views=views, refresh=REFRESH)

    async def stylesheet(self, request: web.Request) -> web.Response:
        return web.Response(body=self.css, content_type="text/css",
                            headers={"Cache-Control": "max-age=300",
                                     "X-Content-Type-Options": "nosniff"})
