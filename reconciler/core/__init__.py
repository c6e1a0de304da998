"""The runtime every converge daemon shares.

* `Runtime` — one daemon's status, metrics registry and loops, its HTTP app and runner;
* `Loop`, `LoopSettings`, `Outcome`, `TemporaryError`, `PermanentError` — the reconcile
  loop: interval with jitter, exponential backoff on errors, never exits, triggerable;
* `Backoff`, `BackoffPolicy` — 1 s doubling to 30 s with jitter, reset on success;
* `Waker` — the interruptible sleep behind a loop;
* `Status`, `conditions` — Kubernetes-style `Ready` / `Reconciling` / `Stalled`;
* `http.make_app` — `/health`, `/health/live`, `/health/ready`, `/status`, `/metrics`;
* `metrics` — per-daemon registry, `converge_<daemon>_…` names;
* `logs.configure` — one JSON object per log line;
* `Store` — SQLite (WAL, synchronous=NORMAL) with versioned migrations;
* `runner.parse_listen`, `runner.serve` — HTTP plus worker threads, graceful SIGTERM;
* `bundlefile.read` — one verified file of a bundle (directory or config server);
* `events` — the notifier's event sink and the outbox (healer, scaler);
* `dockerapi` — the Docker Engine API client and its error (healer, scaler);
* `redact` — credentials out of URLs in errors, status, logs and the console;
* `tokens` — the token-file format and the `--insecure-no-auth` warning (every daemon).
"""

from __future__ import annotations

from converge.reconciler.core import (
    bundlefile,
    conditions,
    dockerapi,
    events,
    http,
    logs,
    metrics,
    redact,
    runner,
    tokens,
)
from converge.reconciler.core.backoff import Backoff, BackoffPolicy
from converge.reconciler.core.loop import (
    Loop,
    LoopSettings,
    Outcome,
    PermanentError,
    TemporaryError,
)
from converge.reconciler.core.runtime import Runtime
from converge.reconciler.core.status import Status
from converge.reconciler.core.store import Store, StoreError
from converge.reconciler.core.waker import Waker

__all__ = [
    "Backoff",
    "BackoffPolicy",
    "Loop",
    "LoopSettings",
    "Outcome",
    "PermanentError",
    "Runtime",
    "Status",
    "Store",
    "StoreError",
    "TemporaryError",
    "Waker",
    "bundlefile",
    "conditions",
    "dockerapi",
    "events",
    "http",
    "logs",
    "metrics",
    "redact",
    "runner",
    "tokens",
]
