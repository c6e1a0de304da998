"""`converge demo`: the whole loop on one machine, step by step, with its proof.

The shell around `stack` (start), `steps` (the walk-through) and `processes` (stop): it
owns the terminal (rich), the work directory, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from converge.compiler.commands import conventions
from converge.reconciler.demo import containers, processes, steps
from converge.reconciler.demo import stack as stacks

_EXAMPLE = Path(__file__).resolve().parents[2] / "repo-example"


def _find_example() -> Path:
    """repo-example/ beside the code (a source checkout), else in the current directory."""
    for candidate in (_EXAMPLE, Path.cwd() / "repo-example"):
        if (candidate / "converge.yaml").is_file():
            return candidate
    raise click.UsageError("cannot find repo-example/: run the demo from a converge "
                           "checkout, or give --example DIR (a specs repository)")


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the demo keeps its repository, state and logs (default: a new "
                   "temporary directory, removed after a successful run).")
@click.option("--keep", is_flag=True,
              help="Keep everything running after the walk-through, until Ctrl-C.")
@click.option("--no-containers", is_flag=True,
              help="Skip the healer and scaler steps (they need podman).")
@click.option("--example", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None,
              help="The specs repository the demo copies (default: repo-example/ of the "
                   "converge checkout, or of the current directory).")
def demo(workdir: Path | None, keep: bool, no_containers: bool, example: Path | None) -> None:
    """Run converge's whole loop on loopback ports and prove each step."""
    example = example or _find_example()
    # rich reads NO_COLOR itself; the shared rule also keeps escapes out of a pipe
    console = Console(highlight=False, soft_wrap=True,
                      color_system="auto" if conventions.use_color(sys.stdout) else None)
    temporary = workdir is None
    root = workdir or Path(tempfile.mkdtemp(prefix="converge-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    supervisor = processes.Supervisor(root)
    ok = interrupted = False
    started = time.monotonic()
    try:
        with _signals_as_interrupt():
            ok = _walk(console, supervisor, example=example, containers_wanted=not no_containers,
                       keep=keep)
    except KeyboardInterrupt:
        interrupted = True
        console.print("[yellow]interrupted[/yellow]")
    finally:
        # A second Ctrl-C (or SIGTERM) must not cut the clean-up short and leave processes
        # behind; the clean-up is bounded by each child's grace period.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with console.status("stopping everything the demo started"):
            # The daemons that make containers stop first, or the scaler would replace
            # what is removed; then the containers (by label), then everything else.
            supervisor.stop({"scaler", "healer"})
            containers.remove_all(root)
            supervisor.stop_all()
        console.print(f"stopped every process the demo started (PIDs in {root / 'pids'})")
    if ok and temporary:
        shutil.rmtree(root, ignore_errors=True)
    elif not ok:
        console.print(f"logs: {root / 'logs'}")
    console.print(f"demo {'finished' if ok else 'failed'} in {time.monotonic() - started:.0f}s")
    raise SystemExit(0 if ok else 130 if interrupted else 1)


def _walk(console: Console, supervisor: processes.Supervisor, *, example: Path,
          containers_wanted: bool, keep: bool) -> bool:
    """Start the stack, run every step, and (with --keep) wait for Ctrl-C."""
    console.rule("converge demo")
    skip_reason = containers.unavailable_reason() if containers_wanted \
        else "--no-containers was given"
    try:
        with console.status("starting the config server, targets, sidecars and notifier"):
            stack = stacks.start(supervisor, example=example,
                                 say=lambda line: console.print(f"  [green]up[/green] {line}"),
                                 container_daemons=skip_reason is None)
    except processes.StartError as error:
        console.print(f"[red]could not start the stack:[/red] {error}")
        return False
    console.print(f"  [green]up[/green] console            {stack.console_url}")
    try:
        plan: list[tuple[str, Callable[[], steps.Proof]]] = [
            ("1", lambda: steps.first_sync(stack)),
            ("2", lambda: steps.threshold_change(stack, threshold=40, group_interval="7s")),
            ("3", lambda: steps.bad_commit(stack, threshold=40)),
            ("4", lambda: steps.alert_delivered(stack, value=100)),
        ]
        for number, step in plan:
            if not _run_step(console, number, step):
                return False
        if not _container_steps(console, supervisor, stack, skip_reason=skip_reason):
            return False
        if not _run_step(console, "7", lambda: steps.escalation(stack, value=100)):
            return False
        if keep:
            try:  # from before the message: Ctrl-C may come as soon as it is shown
                console.print(f"everything keeps running (console {stack.console_url}, "
                              f"work directory {supervisor.workdir}); press Ctrl-C to stop",
                              markup=False)
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return True
    finally:
        stacks.close(stack)


def _container_steps(console: Console, supervisor: processes.Supervisor,
                     stack: stacks.Stack, *, skip_reason: str | None) -> bool:
    """Steps 5 and 6 on podman when it is reachable; say clearly when they are skipped."""
    reason = skip_reason
    engine = None
    if reason is None:
        try:
            with console.status("starting podman's Docker API service"):
                engine = containers.start_engine(supervisor)
        except (processes.StartError, OSError) as error:
            reason = f"the container engine is not reachable: {error}"
    if engine is None:
        console.print(f"[yellow]steps 5 and 6 skipped[/yellow] (healer and scaler): {reason}")
        return True
    console.print(f"  [green]up[/green] podman             {engine.url}")
    try:
        return (_run_step(console, "5", lambda: containers.crash_loop(stack, supervisor, engine))
                and _run_step(console, "6",
                              lambda: containers.pool_grows(stack, supervisor, engine)))
    finally:
        engine.client.close()


def _run_step(console: Console, number: str, step: Callable[[], steps.Proof]) -> bool:
    started = time.monotonic()
    try:
        with console.status(f"step {number} running"):
            proof = step()
    except steps.StepFailed as error:
        console.print(f"[red]step {number} failed:[/red] {error}")
        return False
    console.rule(f"step {number}: {proof.title}", align="left")
    for line in proof.lines:
        console.print(f"  {line}", markup=False)
    console.print(f"  [green]✓ step {number} proved[/green] in {time.monotonic() - started:.1f}s")
    return True


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so either stops everything the demo started."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
