"""Where a commit compiles: in a child process (the default) or in the calling thread.

Compiling is pure Python: a big repository keeps the interpreter busy for seconds, and in
a thread it would hold the GIL the HTTP event loop needs, so every sidecar's request would
wait for the next switch (5 ms each time). A child process keeps those requests on their
own CPU. The child is started once (spawn) and reused; if it dies (killed, out of
memory), the next compile starts a new one.

The child dies with the server, even by SIGKILL (`converge.compiler.children`): it asks
for a parent-death signal, which Linux sends when the *thread* that started it ends. So
it is started from a thread of its own that lives as long as the pool (the compile loop's
thread ends at shutdown, before the pool is shut down), and the multiprocessing resource
tracker the pool starts ends once the child and the server are gone.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from converge.compiler import children
from converge.compiler.sources import SourceFile
from converge.reconciler.core import TemporaryError
from converge.reconciler.server.compile import CompileResult, compile_sources


class ThreadCompiler:
    """Compiles in the calling thread (tests, small repositories); `cache_dir`: the
    per-file cache (`converge.compiler.cache`), None for none."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir

    def __call__(self, files: Sequence[SourceFile], *, commit: str, version: str,
                 prefix: str = "") -> CompileResult:
        return compile_sources(files, commit=commit, version=version, prefix=prefix,
                               cache_dir=self.cache_dir)

    def close(self) -> None:
        """Nothing to release."""


class ProcessCompiler:
    """Compiles in one long-lived child process; `cache_dir` as `ThreadCompiler`'s."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compiler-start")
        """The thread that submits, and so starts the child: it lives until `close`."""

    def __call__(self, files: Sequence[SourceFile], *, commit: str, version: str,
                 prefix: str = "") -> CompileResult:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=children.die_with_parent, initargs=(os.getpid(),))
            pool = self._pool
        try:
            submitted: Future[Future[CompileResult]] = self._starter.submit(
                pool.submit, compile_sources, list(files), commit=commit, version=version,
                prefix=prefix, cache_dir=self.cache_dir)
            return submitted.result().result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise TemporaryError("the compiler process died; starting a new one") from None

    def close(self) -> None:
        """Stop the child process (waits for a compile in progress)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._starter.shutdown(wait=True)
