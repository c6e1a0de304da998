"""The two small HTTP servers the demo runs in its own process: an exporter whose gauges the
demo sets, and a sink standing in for DingTalk that records what the notifier delivers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def exposition(gauges: dict[str, float]) -> str:
    """The Prometheus text format for `gauges` (name → value), one gauge a line."""
    lines: list[str] = []
    for name, value in sorted(gauges.items()):
        lines += [f"# TYPE {name} gauge", f"{name} {value:g}"]
    return "\n".join(lines) + "\n"


class _Server:
    """A `ThreadingHTTPServer` on a free loopback port, served from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        setattr(self.httpd, "owner", self)  # noqa: B010 - the handler finds its server's state
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


class Exporter(_Server):
    """Serves `/metrics` with the gauges the demo sets."""

    def __init__(self) -> None:
        self.gauges: dict[str, float] = {}
        self._lock = threading.Lock()
        super().__init__(_ExporterHandler)

    def set(self, name: str, value: float) -> None:
        """Set gauge `name` to `value`."""
        with self._lock:
            self.gauges[name] = value

    def text(self) -> str:
        """What `/metrics` answers now."""
        with self._lock:
            return exposition(self.gauges)


class Sink(_Server):
    """Accepts any POST, answers DingTalk's success (`errcode: 0`) and keeps the bodies."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        super().__init__(_SinkHandler)

    def record(self, path: str, body: dict[str, Any]) -> None:
        """Keep one delivery."""
        with self._lock:
            self.received.append((path, body))

    def deliveries(self, path_prefix: str = "/robot/send") -> list[dict[str, Any]]:
        """The bodies received on paths starting with `path_prefix`."""
        with self._lock:
            return [body for path, body in self.received if path.startswith(path_prefix)]


class _ExporterHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        exporter: Exporter = getattr(self.server, "owner")  # noqa: B009
        body = exporter.text().encode()
        self.send_response(200 if self.path.startswith("/metrics") else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return


class _SinkHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        sink: Sink = getattr(self.server, "owner")  # noqa: B009
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"raw": raw.decode(errors="replace")}
        sink.record(self.path, body if isinstance(body, dict) else {"value": body})
        answer = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return
