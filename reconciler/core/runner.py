"""Run a daemon: HTTP in the event loop, each reconcile loop in its own worker thread,
and a graceful shutdown ladder on SIGTERM / SIGINT.

Blocking work (Git, compiling, subprocesses, SQLite) runs in the loops' threads, so the
HTTP endpoints stay responsive. Shutdown, with its reason logged at each rung:
signal → stop every loop (a sleep ends at once, a step in progress finishes) → wait up
to `grace` seconds for the threads → abandon any still running (logged) → close the
HTTP server → return 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiohttp import web

from converge.reconciler.core.loop import Loop

_log = logging.getLogger("converge.runtime")

KEEPALIVE = 75.0
"""Seconds an idle keep-alive connection is kept (aiohttp's default is an hour: idle
connections held by a client would pile up)."""


class ListenError(ValueError):
    """A `--listen` address that is not `HOST:PORT`."""


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9400` → ("127.0.0.1", 9400); `:9400` → all interfaces; `[::1]:9400`.

    Raises:
        ListenError: not `HOST:PORT` with a port in 0–65535.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ListenError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9400)")
    host = host.strip("[]")
    return (host or "0.0.0.0"), int(port_text)


def start_threads(daemon: str, loops: Sequence[Loop]) -> list[threading.Thread]:
    """Start one daemon thread per loop, named `<daemon>-<loop>`."""
    threads = [threading.Thread(target=loop.run, name=f"{daemon}-{loop.name}", daemon=True)
               for loop in loops]
    for thread in threads:
        thread.start()
    return threads


def stop_threads(loops: Sequence[Loop], threads: Sequence[threading.Thread], *,
                 grace: float) -> list[str]:
    """Stop every loop and wait up to `grace` seconds in all; the names still running."""
    for loop in loops:
        loop.stop()
    deadline = time.monotonic() + grace
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread.name for thread in threads if thread.is_alive()]


async def serve(*, daemon: str, app: web.Application, listen: tuple[str, int],
                loops: Sequence[Loop], grace: float = 30.0,
                stop: asyncio.Event | None = None,
                on_listening: Callable[[list[str]], None] | None = None,
                threads_out: list[threading.Thread] | None = None,
                background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()) -> int:
    """Serve `app` and run `loops` until SIGTERM, SIGINT or `stop` is set; return 0.

    Args:
        daemon: the daemon's name, for logs and thread names.
        app: the application (see `reconciler.core.http.make_app`).
        listen: host and port; port 0 picks a free one (see `on_listening`).
        loops: reconcile loops, each run in its own thread.
        grace: seconds to let steps in progress finish on shutdown.
        stop: set it to shut down (tests, embedding); signals set it too.
        on_listening: called with the bound `host:port` addresses once listening.
        threads_out: receives the started threads (for liveness checks).
        background: coroutines run as tasks while serving, cancelled on shutdown.
    """
    stop = stop or asyncio.Event()
    reason = ["stop requested"]
    event_loop = asyncio.get_running_loop()
    # Signal handlers can only be installed from the main thread (tests run daemons in others).
    in_main = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGTERM, signal.SIGINT) if in_main else ()
    for number in signals:
        def on_signal(number: signal.Signals = number) -> None:
            reason[0] = f"received {number.name}"
            stop.set()
        event_loop.add_signal_handler(number, on_signal)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0,
                           keepalive_timeout=KEEPALIVE)
    await runner.setup()
    try:
        site = web.TCPSite(runner, listen[0], listen[1], backlog=2048)
        await site.start()
        addresses = [f"{a[0]}:{a[1]}" if ":" not in a[0] else f"[{a[0]}]:{a[1]}"
                     for a in runner.addresses]
        _log.info("%s listening on %s", daemon, ", ".join(addresses),
                  extra={"event": "listening", "addresses": addresses})
        if on_listening is not None:
            on_listening(addresses)
        threads = start_threads(daemon, loops)
        if threads_out is not None:
            threads_out.extend(threads)
        tasks = [asyncio.create_task(make()) for make in background]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _log.info("%s stopping (%s): finishing the current step, grace %ss", daemon,
                  reason[0], grace, extra={"event": "stopping", "reason": reason[0]})
        abandoned = await asyncio.to_thread(stop_threads, loops, threads, grace=grace)
        if abandoned:
            _log.error("%s abandoned loops still running after %ss: %s", daemon, grace,
                       ", ".join(abandoned), extra={"event": "abandoned", "loops": abandoned})
    finally:
        await runner.cleanup()
        for number in signals:
            event_loop.remove_signal_handler(number)
    _log.info("%s stopped", daemon, extra={"event": "stopped", "reason": reason[0]})
    return 0
