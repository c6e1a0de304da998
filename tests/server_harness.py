"""A config server for tests: a real Git repository in tmp and a real `ConfigServer`
serving on a loopback port from a background thread, stopped cleanly."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import httpx
import valid_repo
import yaml

from converge.reconciler.server import ConfigServer, Settings

TOKEN = "test-token-1"
SECRET = b"webhook-secret"


class SpecsRepo:
    """A Git repository holding the valid specs, committed on `main`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "test")
            config.set_value("user", "email", "test@example.com")
        self.commit_docs(valid_repo.documents(), "initial specs")

    def commit_docs(self, docs: list[dict[str, Any]], message: str) -> str:
        (self.root / "specs.yaml").write_bytes(valid_repo.dump(docs))
        self.repo.index.add(["specs.yaml"])
        return self.repo.index.commit(message).hexsha

    def commit_text(self, text: str, message: str) -> str:
        (self.root / "specs.yaml").write_text(text, encoding="utf-8")
        self.repo.index.add(["specs.yaml"])
        return self.repo.index.commit(message).hexsha

    def with_threshold(self, value: int) -> list[dict[str, Any]]:
        docs = valid_repo.documents()
        docs[1]["spec"]["rules"][0]["thresholds"]["critical"] = value
        return docs

    def close(self) -> None:
        self.repo.close()


def broken_text() -> str:
    docs = valid_repo.documents()
    docs[1]["spec"]["rules"][2]["expr"] = "sum(rate(x[5m]) by (job)"
    return yaml.safe_dump_all(docs, sort_keys=False)


class RunningServer:
    """`ConfigServer` on 127.0.0.1:<free port>, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.server = ConfigServer(settings)
        self._ready = threading.Event()
        self._addresses: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        self.url = f"http://{self._addresses[0]}"
        self.client = httpx.Client(base_url=self.url,
                                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        self.anonymous = httpx.Client(base_url=self.url, timeout=10)

    def _run(self) -> None:
        async def main() -> int:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            return await self.server.runtime.serve(
                self.server.app(), listen=("127.0.0.1", 0), stop=self._stop, grace=10,
                on_listening=self._listening)
        self.exit_code = asyncio.run(main())

    def _listening(self, addresses: list[str]) -> None:
        self._addresses.extend(addresses)
        self._ready.set()

    def stop(self) -> None:
        self.client.close()
        self.anonymous.close()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive()
        self.server.close()

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.server.runtime.registry.get_sample_value(name, labels or {})


def settings(tmp: Path, repo: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "repo": str(repo), "branch": "main", "path": "", "db": tmp / "state" / "server.db",
        "cache_dir": tmp / "state" / "git", "interval": 60.0, "tokens": (TOKEN,),
        "webhook_secret": SECRET, "version": "0.0.0+test", "compile_in": "thread"}
    values.update(changes)
    return Settings(**values)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.02)
