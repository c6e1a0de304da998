"""Import an Alertmanager configuration (`alertmanager.yml`) as Channels and a Routing.

Receivers become Channels (`receivers`), one file per receiver under `channels/`; the
route tree, inhibit rules and time intervals become one Routing document in
`routing.yaml` (`routes`). Literal secrets become `{env: NAME}` references whose names
are returned, never their values (`secrets`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from converge.compiler import matchers
from converge.compiler.importers import (
    alertmanager_objects,
    am_matchers,
    names,
    routes,
    target_plan,
)
from converge.compiler.importers import documents as docs
from converge.compiler.importers import receivers as receivers_module
from converge.compiler.importers.result import Imported, OutputFile
from converge.compiler.importers.secrets import Secrets

ROUTING_PATH = "routing.yaml"
_TOP_LEVEL = {"global", "route", "receivers", "inhibit_rules", "time_intervals",
              "mute_time_intervals", "templates"}
_IMPORTED_GLOBALS = {
    "smtp_from", "smtp_smarthost", "smtp_auth_username", "smtp_auth_password",
    "smtp_auth_password_file", "smtp_require_tls", "slack_api_url", "slack_api_url_file",
    "pagerduty_url", "opsgenie_api_key", "opsgenie_api_key_file", "opsgenie_api_url",
}


def template_patterns(text: str, *, source: str) -> list[str]:
    """The configuration's `templates:` file patterns, for the command to read.

    Raises:
        SourceFormatError: not an Alertmanager configuration, or malformed.
    """
    unwrapped = alertmanager_objects.unwrap(text, source=source, notes=[])
    config = _config(unwrapped[0] if unwrapped else text, source=source)
    return docs.string_list(config.get("templates"), where=f"{source}: templates")


def import_config(text: str, *, source: str, taken: set[str],
                  templates: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> Imported:
    """Convert an Alertmanager configuration into Channel and Routing spec files.

    Args:
        text: the configuration file's text.
        source: its path as the user named it, for messages and annotations.
        taken: Channel names already used in the output repository.
        templates: for each of its `templates:` patterns, the (path, text) of the files
            it matches; they become the Routing's `templates`. None: not read.

    Raises:
        SourceFormatError: not YAML, not an Alertmanager configuration, or malformed.
    """
    notes: list[str] = []
    embedded: dict[str, str] = {}  # a Secret's other keys: its templates
    unwrapped = alertmanager_objects.unwrap(text, source=source, notes=notes)
    if unwrapped is not None:
        text, embedded = unwrapped
    config = _config(text, source=source)
    secrets = Secrets()
    globals_ = docs.mapping(config.get("global"), where=f"{source}: global")
    _note_globals(globals_, notes)
    raw_receivers = docs.sequence(config.get("receivers"), where=f"{source}: receivers")
    receivers = receivers_module.convert(raw_receivers, source=source, text=text,
                                         globals_=globals_,
                                         taken=taken, secrets=secrets, notes=notes)
    channels = {r.name: r.channel_names for r in receivers}
    route = routes.convert_route(docs.mapping(config["route"], where=f"{source}: route"),
                                 channels=channels, where="route", notes=notes)
    spec: dict[str, Any] = {"route": route}
    inhibit = routes.convert_inhibit_rules(config.get("inhibit_rules"), where="inhibit_rules",
                                           notes=notes)
    if inhibit:
        spec["inhibitRules"] = inhibit
    intervals = [*routes.convert_time_intervals(config.get("time_intervals"),
                                                where="time_intervals"),
                 *routes.convert_time_intervals(config.get("mute_time_intervals"),
                                                where="mute_time_intervals")]
    if intervals:
        spec["timeIntervals"] = intervals
    for key in sorted(set(config) - _TOP_LEVEL):
        notes.append(f"{source}: unknown top-level field {key!r}, not imported")
    patterns = template_patterns(text, source=source)
    found = {**{p: [(key, embedded[key]) for key in sorted(embedded)
                    if fnmatch.fnmatchcase(key, p.rsplit("/", 1)[-1])] for p in patterns},
             **{p: files for p, files in (templates or {}).items() if files}}
    files_by_name = _templates(patterns, found, source=source, notes=notes)
    if files_by_name:
        spec["templates"] = files_by_name
    routing = {"apiVersion": "converge/v1", "kind": "Routing",
               "metadata": {"name": "alertmanager",
                            "annotations": {"converge.io/source-file": source}},
               "spec": spec}
    files = [OutputFile(f"channels/{r.stem}.yaml", r.channels,
                        header=f"Receiver {r.name!r}, imported from {source} by "
                               "`converge import alertmanager`.",
                        summary=f"{len(r.channels)} channel(s)")
             for r in receivers]
    files.append(OutputFile(ROUTING_PATH, (routing,), header=_routing_header(source, receivers),
                            summary="Routing"))
    versions = dict(target_plan.DEFAULT_VERSIONS)
    if any(c["spec"]["type"] == "msteams" for r in receivers for c in r.channels):
        versions["alertmanager"] = (0, 26)
    if am_matchers.utf8_names(list(_matcher_texts(spec))):
        versions["alertmanager"] = max(versions["alertmanager"], matchers.UTF8_SINCE)
    return Imported(tuple(files), secrets.env, tuple(notes), versions)


def _templates(patterns: list[str], found: Mapping[str, Sequence[tuple[str, str]]], *,
               source: str, notes: list[str]) -> dict[str, str]:
    """The template files, by a name made from each file's name (unique)."""
    allocated = names.Names()
    files: dict[str, str] = {}
    seen: set[str] = set()
    for pattern in patterns:
        matched = found.get(pattern, ())
        if not matched:
            notes.append(f"{source}: templates pattern {pattern!r} matched no file: "
                         "nothing imported for it")
        for path, text in matched:
            if path in seen:
                continue
            seen.add(path)
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            files[allocated.allocate(stem, fallback="templates")] = text
    return files


def _matcher_texts(value: Any) -> Iterator[str]:
    """Every matcher string of a Routing spec (routes and inhibit rules)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("matchers", "sourceMatchers", "targetMatchers"):
                yield from item
            else:
                yield from _matcher_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _matcher_texts(item)


def _config(text: str, *, source: str) -> dict[str, Any]:
    documents = docs.load_all(text, source=source)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise docs.SourceFormatError(f"{source}: not an Alertmanager configuration "
                                     "(expected one mapping with 'route' and 'receivers')")
    config: dict[str, Any] = documents[0]
    missing = [key for key in ("route", "receivers") if not config.get(key)]
    if missing:
        raise docs.SourceFormatError(f"{source}: not an Alertmanager configuration "
                                     f"(no {' or '.join(repr(k) for k in missing)})")
    return config


def _note_globals(globals_: dict[str, Any], notes: list[str]) -> None:
    if globals_.get("resolve_timeout") is not None:
        notes.append(f"global resolve_timeout ({globals_['resolve_timeout']}) has no converge "
                     "field, not imported (Alertmanager's default is 5m)")
    http_config = docs.mapping(globals_.get("http_config"), where="global: http_config")
    if set(http_config) - {"follow_redirects", "enable_http2"}:
        notes.append("global http_config: only basic_auth and bearer credentials are imported, "
                     "into webhook channels; not imported: "
                     + ", ".join(sorted(set(http_config) - {"basic_auth", "authorization",
                                                             "bearer_token", "bearer_token_file"})))
    skipped = sorted(k for k in globals_
                     if k not in _IMPORTED_GLOBALS | {"resolve_timeout", "http_config"})
    if skipped:
        notes.append(f"global settings not imported: {', '.join(skipped)}")


def _routing_header(source: str, receivers: list[receivers_module.Receiver]) -> str:
    lines = [f"The route tree, inhibit rules and time intervals of {source},",
             "imported by `converge import alertmanager`; receivers are channel names."]
    split = [r for r in receivers if len(r.channels) > 1]
    if split:
        lines += [
            "",
            "Receivers with several integrations became one channel per integration:",
            *(f"  {r.name}: {', '.join(r.channel_names)}" for r in split),
            "A converge route names one channel, so every route that would notify such a",
            "receiver ends in one child route per channel, after its own children: no",
            "matchers, `continue: true` on all but the last, its mute/active time intervals",
            "copied. Where a `continue: true` child could match first (Alertmanager would then",
            "not notify the receiver), they sit under guard routes matching what that child",
            "does not. Each alert still reaches exactly the integrations it reached before.",
        ]
    return "\n".join(lines)
