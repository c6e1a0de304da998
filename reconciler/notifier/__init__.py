"""`converge notifier`: Alertmanager notifications and daemon events, delivered without loss.

Intake stores every message in a SQLite outbox before answering; one worker per channel
delivers in order with vendor-aware outcomes, retries, rate limits, splitting and dead
letters. Pure parts: `intake`, `splitting`, `signing`, `ratelimit`, `policy`, `messages`,
`channels` and the `vendors`; I/O: `outbox`, `senders`, `source`; wiring: `service`,
`delivery`, `api`, `daemon`, `cli`.
"""

from __future__ import annotations

from converge.reconciler.notifier.daemon import NotifierDaemon, Settings

__all__ = ["NotifierDaemon", "Settings"]
