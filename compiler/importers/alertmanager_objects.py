"""The Alertmanager configuration inside Kubernetes objects, for `converge import alertmanager`.

Two shapes are read besides a plain `alertmanager.yml`:

* the Secret prometheus-operator and kube-prometheus read (`alertmanager-main`):
  `stringData` or base64 `data` with the key `alertmanager.yaml`; its other keys (the
  templates, mounted beside the configuration) are returned as files;
* `monitoring.coreos.com/v1alpha1` `AlertmanagerConfig` objects: their camelCase route
  tree, receivers, inhibit rules and mute time intervals become the configuration's own
  keys. Several objects are merged under one root route, each object's route a child of
  it (as the operator merges them), and the namespace matcher the operator would add is
  written out on each, so the imported routing keeps the semantics it had.

`unwrap(text, source)` returns None for anything else (a plain configuration).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import yaml

from converge.compiler.importers import documents as docs

CONFIG_KEYS = ("alertmanager.yaml", "alertmanager.yml")
_MATCH = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}


def unwrap(text: str, *, source: str, notes: list[str]) -> tuple[str, dict[str, str]] | None:
    """(configuration text, the object's other files by key), or None when `text` holds no
    Secret or AlertmanagerConfig object.

    Raises:
        SourceFormatError: such an object without a configuration, or malformed.
    """
    objects = [d for d in docs.load_all(text, source=source)
               if isinstance(d, dict) and d.get("kind") in ("Secret", "AlertmanagerConfig")]
    if not objects:
        return None
    if all(o["kind"] == "Secret" for o in objects):
        if len(objects) != 1:
            raise docs.SourceFormatError(f"{source}: several Secrets: import one at a time")
        return _secret(objects[0], source=source)
    configs = [o for o in objects if o["kind"] == "AlertmanagerConfig"]
    if len(configs) != len(objects):
        raise docs.SourceFormatError(f"{source}: a Secret and AlertmanagerConfig objects "
                                     "together: import one shape at a time")
    return _from_configs(configs, source=source, notes=notes), {}


def _secret(secret: dict[str, Any], *, source: str) -> tuple[str, dict[str, str]]:
    files: dict[str, str] = {}
    for key, value in docs.mapping(secret.get("data"), where=f"{source}: data").items():
        try:
            files[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise docs.SourceFormatError(f"{source}: data.{key} is not base64 of UTF-8 "
                                         "text") from None
    for key, value in docs.mapping(secret.get("stringData"),
                                   where=f"{source}: stringData").items():
        files[str(key)] = docs.to_text(value, where=f"{source}: stringData.{key}")
    for key in CONFIG_KEYS:
        if key in files:
            config = files.pop(key)
            return config, files
    raise docs.SourceFormatError(f"{source}: the Secret has no 'alertmanager.yaml' key")


def _from_configs(objects: list[dict[str, Any]], *, source: str, notes: list[str]) -> str:
    receivers: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    inhibits: list[dict[str, Any]] = []
    intervals: list[dict[str, Any]] = []
    for obj in objects:
        meta = docs.mapping(obj.get("metadata"), where=f"{source}: metadata")
        namespace = str(meta.get("namespace") or "default")
        where = f"{source}: AlertmanagerConfig {namespace}/{meta.get('name')}"
        spec = docs.mapping(obj.get("spec"), where=f"{where}: spec")
        scope = f'namespace="{namespace}"'
        for receiver in docs.sequence(spec.get("receivers"), where=f"{where}: receivers"):
            receivers.append(_receiver(docs.mapping(receiver, where=f"{where}: receiver"),
                                       where=where, notes=notes))
        if spec.get("route"):
            route = _route(docs.mapping(spec["route"], where=f"{where}: route"))
            route["matchers"] = [scope, *route.get("matchers", [])]
            routes.append(route)
            notes.append(f"{where}: the operator's matcher {scope} is written on its route "
                         "and inhibit rules")
        for rule in docs.sequence(spec.get("inhibitRules"), where=f"{where}: inhibitRules"):
            rule = docs.mapping(rule, where=f"{where}: inhibit rule")
            inhibits.append({
                "source_matchers": [scope, *_matchers(rule.get("sourceMatch"))],
                "target_matchers": [scope, *_matchers(rule.get("targetMatch"))],
                "equal": list(rule.get("equal") or [])})
        for interval in docs.sequence(spec.get("muteTimeIntervals"),
                                      where=f"{where}: muteTimeIntervals"):
            intervals.append(_interval(docs.mapping(interval, where=f"{where}: interval")))
    if not receivers or not routes:
        raise docs.SourceFormatError(f"{source}: AlertmanagerConfig objects without a route "
                                     "and receivers")
    root = {"receiver": routes[0]["receiver"], "routes": routes}
    config: dict[str, Any] = {"route": root, "receivers": receivers}
    if inhibits:
        config["inhibit_rules"] = inhibits
    if intervals:
        config["time_intervals"] = intervals
    text: str = yaml.safe_dump(config, sort_keys=False)
    return text


def _matchers(value: Any) -> list[str]:
    found = []
    for matcher in value or []:
        op = matcher.get("matchType") or ("=~" if matcher.get("regex") else "=")
        escaped = str(matcher.get("value", "")).replace("\\", "\\\\").replace('"', '\\"')
        found.append(f'{matcher["name"]}{_MATCH.get(op, "=")}"{escaped}"')
    return found


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in (("receiver", "receiver"), ("groupBy", "group_by"),
                      ("groupWait", "group_wait"), ("groupInterval", "group_interval"),
                      ("repeatInterval", "repeat_interval"), ("continue", "continue"),
                      ("muteTimeIntervals", "mute_time_intervals"),
                      ("activeTimeIntervals", "active_time_intervals")):
        if route.get(key) is not None:
            out[name] = route[key]
    if route.get("matchers"):
        out["matchers"] = _matchers(route["matchers"])
    if route.get("routes"):
        out["routes"] = [_route(child) for child in route["routes"]]
    return out


def _receiver(receiver: dict[str, Any], *, where: str, notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.get("name")}
    webhooks = []
    for config in receiver.get("webhookConfigs") or []:
        if config.get("url"):
            webhook = {"url": config["url"]}
            if config.get("sendResolved") is not None:
                webhook["send_resolved"] = config["sendResolved"]
            if config.get("maxAlerts"):
                webhook["max_alerts"] = config["maxAlerts"]
            webhooks.append(webhook)
        else:
            notes.append(f"{where}: receiver {out['name']!r}: a webhook URL from a Kubernetes "
                         "Secret is not imported")
    if webhooks:
        out["webhook_configs"] = webhooks
    for key in sorted(k for k in receiver if k.endswith("Configs") and k != "webhookConfigs"):
        notes.append(f"{where}: receiver {out['name']!r}: {key} take their credentials from "
                     "Kubernetes Secrets: not imported")
    return out


def _interval(interval: dict[str, Any]) -> dict[str, Any]:
    periods = []
    for period in interval.get("timeIntervals") or []:
        out: dict[str, Any] = {}
        if period.get("times"):
            out["times"] = [{"start_time": t.get("startTime"), "end_time": t.get("endTime")}
                            for t in period["times"]]
        for key in ("weekdays", "months", "years"):
            if period.get(key):
                out[key] = list(period[key])
        if period.get("daysOfMonth"):
            out["days_of_month"] = [f"{d.get('start')}:{d.get('end', d.get('start'))}"
                                    for d in period["daysOfMonth"]]
        periods.append(out)
    return {"name": interval.get("name"), "time_intervals": periods}
