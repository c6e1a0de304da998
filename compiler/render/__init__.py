"""Render the compiled model into each target's files (pure: text in memory, no I/O)."""

from __future__ import annotations

from typing import Any

from compiler.model import Model
from compiler.render import alertmanager, reconciler_data, rules


def render(model: Model) -> dict[str, str]:
    """Every rendered file of the bundle except the manifest, by bundle path."""
    files: dict[str, str] = {}
    quoted: dict[int, dict[str, Any]] = {}
    for target in ("prometheus", "vmalert"):
        if model.project.targets[target].enabled:
            files.update(rules.render(model, target, quoted=quoted))
    if model.project.targets["alertmanager"].enabled:
        files.update(alertmanager.render(model))
    files.update(reconciler_data.render(model))
    return dict(sorted(files.items()))


__all__ = ["render"]
