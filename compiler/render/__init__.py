"""Render the compiled model into each target's files (pure: text in memory, no I/O)."""

from __future__ import annotations

from collections.abc import Collection

from converge.compiler.model import Model
from converge.compiler.render import alertmanager, kubernetes, reconciler_data, rules

TARGETS = ("prometheus", "vmalert", "alertmanager", "reconciler", "kubernetes")
"""What a bundle holds files for, each under a directory of its name."""


def render(model: Model, *, targets: Collection[str] = TARGETS) -> dict[str, str]:
    """Every rendered file of the bundle except the manifest, by bundle path.

    `targets` limits the rendering to the files of those targets (the others are left
    out, as if disabled): `converge.compiler.parallel.render_worker` renders the bundle in two
    processes.
    """
    files: dict[str, str] = {}
    shared = rules.Shared()
    for target in ("prometheus", "vmalert"):
        if target in targets and model.project.targets[target].enabled:
            files.update(rules.render(model, target, shared=shared))
    if "alertmanager" in targets and model.project.targets["alertmanager"].enabled:
        files.update(alertmanager.render(model))
    if "reconciler" in targets:
        files.update(reconciler_data.render(model))
    if "kubernetes" in targets:
        files.update(kubernetes.render(model))
    return dict(sorted(files.items()))


__all__ = ["TARGETS", "render"]
