"""`converge watch`: recompile on every change to the specs (the watchdog adapter).

Thin: watchdog's observer thread puts changed paths on a queue; the main thread filters
them (`debounce.relevant`), lets the `Debouncer` settle each save, and runs `build.rebuild`.
Ctrl-C (or SIGTERM) stops it cleanly (exit 0).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import time
from pathlib import Path

import click
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from converge.compiler import cache, sources
from converge.compiler.commands import conventions
from converge.compiler.watch import build, debounce

EXIT_OK, EXIT_USAGE = 0, 2


class _Enqueue(FileSystemEventHandler):
    """Puts every path an event names (both ends of a move) on a queue."""

    def __init__(self, events: queue.Queue[tuple[str, bool]]) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return
        for path in (event.src_path, event.dest_path):
            if path:
                self.events.put((os.fsdecode(path), event.is_directory))


@click.command("watch")
@click.argument("path", default=".",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="The bundle directory, replaced as a whole.")
@click.option("--debounce", "delay", type=click.FloatRange(min=0), default=0.3,
              show_default=True, help="Seconds without a change before recompiling.")
@conventions.cache_options
def watch_command(path: Path, output: Path, delay: float, cache_dir: Path | None,
                  use_cache: bool) -> None:
    """Compile the specs under PATH into OUTPUT now and again on every change.

    Each recompile prints the diagnostics, or the new bundle's hash and how many files
    changed. Nothing is written while the specs have errors: a broken intermediate save
    never touches the last good bundle. Stop with Ctrl-C.
    """
    if not path.is_dir():
        click.echo(f"converge: error: {path}: no such directory", err=True)
        raise SystemExit(EXIT_USAGE)
    color = conventions.use_color(sys.stdout)
    store = cache.open_store(cache_dir, enabled=use_cache)
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: no traceback, exit 0
    events: queue.Queue[tuple[str, bool]] = queue.Queue()
    observer = Observer()
    observer.schedule(_Enqueue(events), str(path), recursive=True)
    try:
        observer.start()
        click.echo(f"watching {path.as_posix()} (Ctrl-C to stop)", err=True)
        click.echo(build.rebuild(path, output, color=color, store=store), nl=False)
        _loop(events, path, output, debounce.Debouncer(delay), color=color, store=store)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        observer.stop()
        if observer.is_alive():
            observer.join()
    raise SystemExit(EXIT_OK)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _loop(events: queue.Queue[tuple[str, bool]], root: Path, output: Path,
          debouncer: debounce.Debouncer, *, color: bool, store: cache.Store | None) -> None:
    root_abs, output_abs = root.absolute(), output.absolute()
    inside = output_abs.relative_to(root_abs).as_posix() if output_abs.is_relative_to(
        root_abs) else None
    while True:
        wait = debouncer.wait(time.monotonic())
        try:
            name, directory = events.get(timeout=1.0 if wait is None else wait)
        except queue.Empty:
            pass
        else:
            changed = Path(name).absolute()
            if changed.is_relative_to(root_abs) and debounce.relevant(
                    changed.relative_to(root_abs).as_posix(), sources.ignore_patterns(root),
                    directory=directory, output=inside):
                debouncer.add(name, time.monotonic())
        if debouncer.take(time.monotonic()):
            click.echo(build.rebuild(root, output, color=color, store=store), nl=False)
