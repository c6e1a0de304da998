"""Which alerts a silence in Alertmanager covers: an acknowledgement for escalation.

`AlertmanagerSilences` asks Alertmanager's v2 API (`GET /api/v2/alerts`) and returns the
fingerprints of the alerts with a non-empty `status.silencedBy`.
"""

from __future__ import annotations

from typing import Any

import httpx

from converge.reconciler.core import redact


class AlertmanagerSilences:
    """An `escalation.SilenceSource` over one Alertmanager."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self._timeout = timeout

    async def silenced(self) -> set[str]:
        """Raises `RuntimeError` when Alertmanager cannot be asked."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self.url, params={"silenced": "true",
                                                              "inhibited": "true"})
        except httpx.HTTPError as error:
            raise RuntimeError(redact.text(f"{self.url}: {error}")) from None
        if not response.is_success:
            raise RuntimeError(redact.text(f"{self.url}: HTTP {response.status_code}"))
        alerts: Any = response.json()
        return {str(a.get("fingerprint")) for a in alerts if isinstance(a, dict)
                and ((a.get("status") or {}).get("silencedBy") or [])}
