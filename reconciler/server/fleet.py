"""Sync-status reports from sidecars and the fleet view they build (pure).

A report says what one cluster's target runs now. `apply` folds it into that
(cluster, target)'s fleet row: `since` moves only when the hash changes, the last error
is kept after a later success, and `changed` says whether the history gets a row (a
heartbeat that changes nothing but the time adds none). A report whose result is
`unchanged` (the sidecar found nothing new to do) is a heartbeat: with the same hash it
keeps the row's result and error.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

TARGETS = ("prometheus", "vmalert", "alertmanager", "reconciler")
MAX_ERROR = 4000

Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Commit = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{4,64}$")]


class SyncReport(BaseModel):
    """`POST /api/v1/config/sync/status` (see docs/openapi.yaml `SyncReport`)."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, validate_by_alias=True,
                              validate_by_name=False, extra="ignore")

    cluster_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]
    target: Literal["prometheus", "vmalert", "alertmanager", "reconciler"]
    result: Literal["success", "failure", "unchanged"]
    commit: Commit | None = None
    hash: Hash | None = None
    attempted_hash: Hash | None = None
    error: str | None = None
    converged: bool = False
    duration_seconds: Annotated[float, Field(ge=0)] | None = None
    instance: Annotated[str, StringConstraints(max_length=200)] | None = None

    @field_validator("error")
    @classmethod
    def _clip(cls, value: str | None) -> str | None:
        return value[:MAX_ERROR] if value else None


@dataclasses.dataclass(frozen=True, slots=True)
class FleetRow:
    """What one cluster's target runs, as the fleet view shows it."""

    cluster_id: str
    target: str
    commit: str | None
    hash: str | None
    attempted_hash: str | None
    since: float
    last_report_at: float
    result: str
    error: str | None
    converged: bool
    last_error: str | None
    last_error_at: float | None
    instance: str | None


def apply(previous: FleetRow | None, report: SyncReport, *, now: float) -> tuple[FleetRow, bool]:
    """The row after `report`, and whether the history should record it."""
    same_hash = previous is not None and previous.hash == report.hash
    since = previous.since if previous is not None and same_hash else now
    result: str = report.result
    error = report.error
    if result == "unchanged" and previous is not None and same_hash:
        result = previous.result
        error = report.error if report.error is not None else previous.error
    failed_error = report.error
    row = FleetRow(
        cluster_id=report.cluster_id, target=report.target, commit=report.commit,
        hash=report.hash, attempted_hash=report.attempted_hash, since=since,
        last_report_at=now, result=result, error=error,
        converged=report.converged,
        last_error=failed_error if failed_error else (previous.last_error if previous else None),
        last_error_at=now if failed_error else (previous.last_error_at if previous else None),
        instance=report.instance)
    changed = previous is None or _essence(previous) != _essence(row)
    return row, changed


def _essence(row: FleetRow) -> tuple[object, ...]:
    return (row.commit, row.hash, row.attempted_hash, row.result, row.error, row.converged,
            row.instance)
