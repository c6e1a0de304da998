"""Render and write a big bundle in two processes: vmalert's files in a forked worker.

After the checks, `converge compile` at 10,000 rules spends about 0.3 s rendering (Jinja2,
holding the GIL) and 0.3 to 0.7 s creating a thousand files (kernel time); the
Prometheus and vmalert rule files are about half each. A forked worker renders and
writes the vmalert files into the staging directory while this process renders and
writes the rest, then sends back the texts it rendered, so the bundle and its manifest
are built from exactly the texts `render.render` gives. If the worker fails, this process
renders and writes its files itself; a write error in the worker is reported as if this
process had met it.

`Aside` renders a whole model in a forked worker while this process does other work
(`converge diff` checks the head meanwhile); if it fails, the files are rendered here.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import threading
from typing import Any

from converge.compiler import children, render, writer
from converge.compiler.model import Model

MIN_GROUPS = 100
"""Below this many rule groups the fork is not worth it."""

_THEIRS = ("vmalert",)
_OURS = tuple(t for t in render.TARGETS if t not in _THEIRS)
_HEADER = struct.Struct("<Q")


def render_into(model: Model, staging: writer.Staging) -> dict[str, str]:
    """`render.render(model)`; files already written into `staging` are recorded there.

    Raises:
        WriteError: a file could not be written.
    """
    if (len(model.groups) < MIN_GROUPS or not model.project.targets["vmalert"].enabled
            or not hasattr(os, "fork") or threading.active_count() > 1):
        return render.render(model)
    read, write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        children.die_with_parent(parent)
        os.close(read)
        _serve(model, staging, write)
    os.close(write)
    try:
        files = render.render(model, targets=_OURS)
        staging.write(_encoded(files))
        outcome = _receive(read)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    if isinstance(outcome, tuple) and len(outcome) == 2 and outcome[0] == "error":
        raise writer.WriteError(str(outcome[1]))
    if isinstance(outcome, tuple) and len(outcome) == 2 and outcome[0] == "written":
        theirs: dict[str, str] = outcome[1]
        staging.written_elsewhere(theirs)
    else:  # the worker failed: do its part here
        theirs = render.render(model, targets=_THEIRS)
        staging.write(_encoded(theirs))
    return dict(sorted({**files, **theirs}.items()))


class Aside:
    """`render.render(model)` in a forked worker, started at once: `converge diff` renders
    the base while it checks both sides (`converge.compiler.diff.sides`)."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self._pid = 0
        self._read = -1
        if (len(model.groups) < MIN_GROUPS or not hasattr(os, "fork")
                or threading.active_count() > 1):
            return
        read, write = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: render here
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the worker: never returns
            children.die_with_parent(parent)
            os.close(read)
            code = 1
            try:
                _send(write, render.render(model))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def files(self) -> dict[str, str]:
        """The worker's files (rendered here if it failed or was never started)."""
        found = None
        if self._pid:
            try:
                found = _receive(self._read)
            finally:
                self._reap()
        return found if isinstance(found, dict) else render.render(self._model)

    def cancel(self) -> None:
        """Stop the worker, its files unwanted (idempotent)."""
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> None:
        os.close(self._read)
        pid, self._pid = self._pid, 0
        os.waitpid(pid, 0)


def _send(fd: int, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _encoded(files: dict[str, str]) -> dict[str, bytes]:
    return {path: text.encode("utf-8") for path, text in files.items()}


def _serve(model: Model, staging: writer.Staging, fd: int) -> None:
    """The worker's whole life; it exits without running any of the parent's cleanup
    (leaving the `with writer.Staging` block would remove the staging directory)."""
    code = 1
    try:
        files = render.render(model, targets=_THEIRS)
        try:
            staging.write(_encoded(files))
            outcome: tuple[str, Any] = ("written", files)
        except writer.WriteError as error:
            outcome = ("error", str(error))
        _send(fd, outcome)
        code = 0
    finally:
        os._exit(code)


def _receive(fd: int) -> Any:
    """The worker's message, or None if it did not send a whole one."""
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    data = b"".join(chunks)
    if len(data) < _HEADER.size or _HEADER.unpack_from(data)[0] != len(data) - _HEADER.size:
        return None
    try:
        return pickle.loads(data[_HEADER.size:])
    except (pickle.UnpicklingError, EOFError, ValueError):
        return None
