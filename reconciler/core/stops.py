"""The one rule the healer and the scaler share about stopped containers: which exits were
on purpose. Pure.

A container stopped through a signal — SIGTERM (exit 143), SIGKILL after the stop timeout
(137, without the OOM flag), SIGINT (130) — or that exited cleanly (0) was stopped on
purpose: the healer never restarts it. The scaler stops the containers it removes this
way, so the healer never fights it; any other exit is a failure, the healer's to handle.
"""

from __future__ import annotations

STOP_EXIT_CODES = frozenset({0, 130, 137, 143})
"""Exit codes of a container stopped on purpose (clean exit, SIGINT, SIGKILL, SIGTERM)."""

__all__ = ["STOP_EXIT_CODES", "stopped_on_purpose"]


def stopped_on_purpose(*, exit_code: int, oom_killed: bool = False, error: str = "") -> bool:
    """Whether an exited container's exit says someone stopped it (not a crash)."""
    return exit_code in STOP_EXIT_CODES and not oom_killed and not error
