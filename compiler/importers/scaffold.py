"""What an import adds so the output directory checks as it is, and what is already there.

`scan` reads the specs already in the output directory (names per kind, the project's
target versions) so imported names do not collide and existing documents are kept;
`project_file` and `catch_all_routing_file` write the documents a repository needs when
it has none: a `Project`, and a root route to a `default` webhook channel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import yaml

from converge.compiler.importers import names, target_plan
from converge.compiler.importers.result import OutputFile

PROJECT_PATH = "converge.yaml"
ROUTING_PATH = "routing.yaml"
DEFAULT_CHANNEL_URL = "http://127.0.0.1:9095/default"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True, slots=True)
class Existing:
    """The specs already in the output directory."""

    names: dict[str, set[str]]
    """Document names per kind."""
    paths: dict[str, set[str]]
    """Files holding documents of each kind."""
    versions: dict[str, tuple[int, ...]] | None
    """The project's target versions, or None when there is no Project document."""

    def has(self, kind: str) -> bool:
        """Whether some document of `kind` exists."""
        return bool(self.paths.get(kind))


def scan(files: Iterable[tuple[str, str]]) -> Existing:
    """Read existing spec files, given as (relative path, text); unreadable ones are skipped."""
    found: dict[str, set[str]] = {}
    paths: dict[str, set[str]] = {}
    versions: dict[str, tuple[int, ...]] | None = None
    for path, text in files:
        try:
            bodies = list(yaml.load_all(text, Loader=_Loader))
        except yaml.YAMLError:
            continue
        for body in bodies:
            if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
                continue
            kind = body["kind"]
            paths.setdefault(kind, set()).add(path)
            metadata = body.get("metadata")
            if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
                found.setdefault(kind, set()).add(metadata["name"])
            if kind == "Project" and versions is None:
                versions = _versions(body.get("spec"))
    return Existing(found, paths, versions)


def _versions(spec: Any) -> dict[str, tuple[int, ...]]:
    versions = dict(target_plan.DEFAULT_VERSIONS)
    declared = spec.get("targets") if isinstance(spec, dict) else None
    for name, target in (declared or {}).items() if isinstance(declared, dict) else ():
        version = target.get("version") if isinstance(target, dict) else None
        try:
            versions[name] = tuple(int(part) for part in str(version).split("."))
        except ValueError:
            continue  # no version or a bad one: converge check reports it
    return versions


def version_notes(needed: dict[str, tuple[int, ...]],
                  versions: dict[str, tuple[int, ...]]) -> list[str]:
    """What to raise in an existing `converge.yaml` so it accepts what was imported."""
    return [f"the imported specs need {target} ≥ {target_plan.version_text(version)}; "
            f"converge.yaml says {target_plan.version_text(versions[target])}: raise it"
            for target, version in needed.items()
            if target in versions and version > versions[target]]


def project_file(directory_name: str, versions: dict[str, tuple[int, ...]]) -> OutputFile:
    """A `converge.yaml` with the target versions the imported specs need."""
    project = {
        "apiVersion": "converge/v1",
        "kind": "Project",
        "metadata": {"name": names.slug(directory_name, fallback="imported")},
        "spec": {"targets": {
            target: {"version": target_plan.version_text(versions[target])}
            for target in ("prometheus", "vmalert", "alertmanager")
        }},
    }
    return OutputFile(PROJECT_PATH, (project,),
                      header="The project: what this repository is compiled for.\n"
                             "Written by `converge import`; the versions are the lowest that "
                             "accept the imported specs.",
                      summary="Project")


def catch_all_routing_file() -> OutputFile:
    """A `routing.yaml`: a `default` webhook channel and a root route sending it everything."""
    channel = {
        "apiVersion": "converge/v1", "kind": "Channel",
        "metadata": {"name": "default"},
        "spec": {"type": "webhook", "url": DEFAULT_CHANNEL_URL},
    }
    routing = {
        "apiVersion": "converge/v1", "kind": "Routing",
        "metadata": {"name": "default"},
        "spec": {"route": {"receiver": "default"}},
    }
    return OutputFile(ROUTING_PATH, (channel, routing),
                      header="A placeholder written by `converge import`: every alert goes to "
                             "the `default` webhook\nchannel. Replace it with your channels and "
                             "routes, or run `converge import alertmanager\nalertmanager.yml -o "
                             "DIR --force` to import your Alertmanager configuration.",
                      summary="catch-all Channel 'default' and Routing")
