"""The sidecar's decisions as pure functions: what to do given what is published, what
is known good and what the source offers, and which set to fall back to after a failure.

No I/O: `sync.Syncer` gathers the facts, asks here, and acts.
"""

from __future__ import annotations

import dataclasses
import enum


class Step(enum.Enum):
    WAIT = "wait"
    """Nothing published and nothing offered yet."""
    VERIFY = "verify"
    """The published set is current: check the target still runs it."""
    RELOAD = "reload"
    """Reload the published set (start-up, a failed reload, or the target drifted)."""
    APPLY = "apply"
    """Publish the offered bundle, reload and verify it."""


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    """What the sidecar knows. Hashes are target hashes from the manifest."""

    active: str | None = None
    """The bundle DEST holds (None: nothing, or the empty set)."""
    good: str | None = None
    """The last bundle the target verifiably loaded."""
    verified: bool = False
    """The target verifiably loaded `active` since this process started."""
    failed: str | None = None
    """The bundle whose last attempt failed: tried again even though nothing changed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    reason: str


def decide(state: State, offered: str | None) -> Decision:
    """What to do now, given the hash the source offers (None: nothing known)."""
    if offered is not None and offered != state.active:
        if offered == state.failed:
            return Decision(Step.APPLY, f"retrying {offered[:12]} after a failure")
        return Decision(Step.APPLY, f"new bundle {offered[:12]}")
    if state.active is None:
        return Decision(Step.WAIT, "no bundle published or offered yet")
    if not state.verified:
        if state.failed == state.active:
            return Decision(Step.RELOAD, f"retrying the reload of {state.active[:12]}")
        return Decision(Step.RELOAD, f"start-up: reloading {state.active[:12]} from disk")
    return Decision(Step.VERIFY, f"{state.active[:12]} is current")


def fallback(state: State, failing: str | None) -> str | None:
    """After `failing` did not load: "good" to restore the last good set, "empty" when
    there is none, or None when restoring would change nothing (it is the good set)."""
    if state.good is None:
        return "empty"
    if state.good == failing:
        return None
    return "good"


def applied(state: State, hash: str | None) -> State:
    """The target verifiably runs `hash`."""
    return State(active=hash, good=hash, verified=True, failed=None)


def failed(state: State, hash: str | None, *, active: str | None, verified: bool) -> State:
    """`hash` failed; DEST now holds `active`, verified loaded or not."""
    return State(active=active, good=state.good, verified=verified, failed=hash)


def converged(state: State, offered: str | None) -> bool:
    """Whether the target verifiably runs what the source offers."""
    return state.verified and offered is not None and state.active == offered
