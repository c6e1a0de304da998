"""No process outlives the process that started it, however that one dies.

A daemon killed with SIGKILL runs no cleanup: a compile worker, a `git fetch` or a
checker it started would be re-parented to PID 1 and go on holding the repository and
memory, and a leftover compiler of a dead leader could race the new one. Only the kernel
can act after SIGKILL, so on Linux every child asks it for a *parent-death signal*
(`prctl(PR_SET_PDEATHSIG)`) and then checks that its parent is still the one that
started it: the parent may have died between the fork and the `prctl`, and the signal is
only sent for deaths that come after it. The three ways a child is made here:

* `os.fork` (the compiler's workers): the child calls `die_with_parent(parent)` first.
* `subprocess.Popen`: pass `preexec_fn=children.preexec()`. CPython warns that
  `preexec_fn` may deadlock in a threaded parent, because Python code runs in the child
  between fork and exec and may need a lock another thread held at the fork (the import
  lock, an allocator's, logging's). This one takes none: it calls one C function
  resolved before the fork (through a `ctypes.PyDLL`, so not even the GIL is released)
  and `os.getppid`, and imports nothing. The alternative, a trampoline process
  (`python -c` or `setpriv --pdeathsig`) that sets the signal and execs the command,
  costs an interpreter start (about 20 ms) for every `git` call or depends on a tool
  that slim images lack. The price of `preexec_fn`: CPython forks instead of vforking,
  with the GIL held while the kernel copies the parent's page tables. Measured on the
  development VM: 1 to 3 ms more per child in `converge compile`, about 30 ms in a
  150 MB config server (one pause of its HTTP loop per `git fetch`, every interval),
  200 ms in a 600 MB process. Cheap for these daemons; a process that grows big and
  starts many children would want a trampoline after all.
* multiprocessing `spawn` workers: `ProcessPoolExecutor(initializer=die_with_parent,
  initargs=(os.getpid(),))`. The multiprocessing resource tracker, a process the pool
  starts beside its workers, ends by itself once no process holds its pipe, i.e. once
  the parent and the workers are gone.

The kernel sends the signal when the *thread* that started the child ends, not the
process. So a child is given it only by a thread that outlives the child: a thread that
waits for it (`subprocess.run`, a Git command), the only thread (the forks), or a
thread kept for the purpose (`converge.reconciler.server.compilers`). A long-lived child
fed through a pipe (GitPython's `git cat-file --batch`) needs no signal: it reads EOF
and exits when the parent's end of the pipe closes, which the kernel does when the
parent dies.

Git itself is sent SIGTERM, not SIGKILL: it removes its lock files (`index.lock`, a
ref's `.lock`) on SIGTERM and would leave them on SIGKILL. Everything else is sent
SIGKILL, so it ends at once whatever it was doing.

Elsewhere (macOS, the BSDs, Windows) there is no parent-death signal: these functions
do nothing, pipe-fed children still end with their parent, and the others run to
completion. Run the daemons under a supervisor that stops the whole process group or
cgroup there (docs/operations.md).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_ORPHANED = 70
"""Exit status of a child whose parent was already gone when it looked (EX_SOFTWARE)."""


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's `prctl`, resolved on first use in the parent (`ctypes` costs 2 ms to
    import, which `converge check` need not pay when it starts no child)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        function: Callable[..., int] = ctypes.PyDLL(None).prctl
    except (ImportError, OSError, AttributeError):  # no ctypes, or a libc without prctl
        return None
    return function


def die_with_parent(parent: int, signum: int = signal.SIGKILL) -> None:
    """In a child: be sent `signum` when `parent` dies; exit now if it already has.

    Call it first thing in a forked child, or as a spawned worker's initializer, with
    the parent's PID read before the fork. A no-op where the platform has no
    parent-death signal.
    """
    prctl = _prctl()
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(_ORPHANED)


def preexec(signum: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` for `subprocess.Popen` that ties the child to this process, or
    None where the platform cannot (Popen then starts the child as usual).

    Args:
        signum: what the child is sent when this process (strictly: the calling
            thread) ends; SIGTERM for `git`, which cleans up its lock files on it.
    """
    if _prctl() is None:
        return None
    parent = os.getpid()

    def tie() -> None:
        die_with_parent(parent, signum)

    return tie
