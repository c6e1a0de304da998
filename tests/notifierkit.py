"""Helpers for notifier tests: bundles holding channels, and a notifier running in-process.

Import it as ``import notifierkit`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from converge.compiler.bundle import sha256
from converge.reconciler.core.secretaccess import SecretAccess
from converge.reconciler.notifier.daemon import NotifierDaemon, Settings
from converge.specs.channel import CHANNEL_TYPES, NOTIFIER_TYPES


def channel_entry(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A channels.json entry as the compiler writes it (defaults applied)."""
    model = CHANNEL_TYPES[spec["type"]].model_validate(dict(spec))
    entry: dict[str, Any] = {"name": name, "type": spec["type"],
                             "spec": model.model_dump(mode="json", by_alias=True),
                             "source": f"channels/{name}.yaml", "deliveredBy": "alertmanager"}
    if spec["type"] in NOTIFIER_TYPES:
        entry.update(deliveredBy="notifier", path=f"/hooks/alertmanager/{name}")
    return entry


def write_bundle(root: Path, channels: Mapping[str, Mapping[str, Any]], *,
                 document_extra: Mapping[str, Any] | None = None) -> Path:
    """A bundle directory with `reconciler/channels.json` and a manifest listing it
    (`document_extra`: top-level keys such as `eventChannels`, `fallbackChannel`)."""
    document = {"schemaVersion": "converge/reconciler/v1",
                "channels": [channel_entry(n, s) for n, s in sorted(channels.items())],
                **(document_extra or {})}
    data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    (root / "reconciler").mkdir(parents=True, exist_ok=True)
    (root / "reconciler" / "channels.json").write_bytes(data)
    manifest = {"schemaVersion": "converge/manifest/v1", "bundleHash": sha256(data),
                "files": [{"path": "reconciler/channels.json", "sha256": sha256(data),
                           "size": len(data), "target": "reconciler"}], "targets": {}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def payload(*, status: str = "firing", alerts: int = 1, group: str = "g",
            summary: str = "CPU high", extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An Alertmanager webhook payload (version 4)."""
    items = []
    for i in range(alerts):
        labels = {"alertname": "HighCPU", "severity": "critical", "instance": f"host-{i}",
                  **(extra or {})}
        items.append({"status": status, "labels": labels,
                      "annotations": {"summary": f"{summary} on host-{i}"},
                      "startsAt": "2024-05-01T12:00:00Z",
                      "endsAt": "0001-01-01T00:00:00Z" if status == "firing"
                      else "2024-05-01T12:10:00Z",
                      "generatorURL": "http://prometheus/graph", "fingerprint": f"fp{i}{group}"})
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{group}"}}', "truncatedAlerts": 0,
            "status": status, "receiver": "r", "groupLabels": {"alertname": group},
            "commonLabels": {"alertname": "HighCPU"}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": items}


@contextlib.asynccontextmanager
async def running(settings: Settings, *, environ: Mapping[str, str] | None = None,
                  **options: Any) -> AsyncIterator[tuple[NotifierDaemon, str]]:
    """A notifier serving on a free loopback port, stopped (gracefully) on exit."""
    environ = dict(environ or {})
    options.setdefault("secret_access", SecretAccess(env_names=frozenset(environ),
                                                     environ=environ))
    daemon = NotifierDaemon(settings, environ=environ, **options)
    stop = asyncio.Event()
    listening: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(daemon.serve(stop=stop, on_listening=listening.set_result))
    done, _ = await asyncio.wait({task, listening}, timeout=20,
                                 return_when=asyncio.FIRST_COMPLETED)
    if listening not in done:
        stop.set()
        await task  # raises what went wrong
        raise RuntimeError("the notifier did not start listening")
    try:
        yield daemon, f"http://{listening.result()[0]}"
    finally:
        stop.set()
        await task


async def until(condition: Any, *, timeout: float = 20.0, every: float = 0.05) -> None:
    """Wait until `condition()` is true, or fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await asyncio.sleep(every)
