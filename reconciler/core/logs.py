"""Structured logs: one JSON object per line, through the standard `logging` module.

The stdlib is enough: a formatter that turns a record and its `extra={...}` fields into
JSON keeps every library's logs (aiohttp, GitPython) in the same stream and format,
without another dependency. Log with a readable message and the facts as extras:

    log.warning("sidecar 'sync' failed temporarily, retrying in %ss: %s", 8, error,
                extra={"loop": "sync", "delay": 8, "error": str(error)})

→ `{"time": "…Z", "level": "warning", "logger": "converge.sidecar.sync",
"message": "sidecar 'sync' failed …", "loop": "sync", "delay": 8, "error": "…"}`
"""

from __future__ import annotations

import json
import logging
import sys
from typing import IO, Any

from converge.reconciler.core import redact
from converge.reconciler.core.conditions import rfc3339

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its `extra` fields."""

    def __init__(self, *, static: dict[str, Any] | None = None) -> None:
        super().__init__()
        self._static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": rfc3339(record.created),
                                 "level": record.levelname.lower(), "logger": record.name,
                                 "message": redact.text(record.getMessage()), **self._static}
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact.value(value)
        if record.exc_info:
            entry["exception"] = redact.text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger: message` for a terminal, credentials redacted as in JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact.text(super().format(record))


def configure(*, daemon: str, level: str = "info", stream: IO[str] | None = None,
              json_lines: bool = True) -> None:
    """Send every log record to `stream` (default stderr), one JSON line each.

    Replaces the root logger's handlers; `daemon` is added to every line. With
    `json_lines=False`, a plain `time level logger: message` format (for a terminal).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(static={"daemon": daemon}))
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "httpx", "httpcore", "git"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
