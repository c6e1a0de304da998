"""The routing as a prometheus-operator `AlertmanagerConfig` (opt-in: `alertmanager:
alertmanagerConfig`).

One `monitoring.coreos.com/v1alpha1` AlertmanagerConfig named after the Project holds the
route tree, the inhibit rules, the time intervals and the receivers. The operator merges it
into the Alertmanager's configuration under a namespace matcher on every route and inhibit
rule, which changes what reaches these routes: `converge check` explains it
(`route/namespace-matcher`), as it does every channel or setting this API cannot carry
(`expressible` says which channels it can).
"""

from __future__ import annotations

from typing import Any

from converge.compiler.matchers import Matcher
from converge.compiler.model import Model, Named, Route
from converge.compiler.render import alertmanager, objects
from converge.specs.channel import NOTIFIER_TYPES

PATH = f"{objects.ROOT}/prometheus-operator/alertmanagerconfig.yaml"


def expressible(channel: Named) -> bool:
    """Whether the channel is a receiver an AlertmanagerConfig can carry without a
    Kubernetes Secret: a plain webhook, a notifier-delivered channel, `none`."""
    spec = channel.spec
    if spec.type in NOTIFIER_TYPES or spec.type == "none":
        return True
    return bool(spec.type == "webhook" and spec.url and spec.url_secret is None
                and spec.basic_auth is None and spec.bearer_token is None)


def render(model: Model) -> dict[str, str]:
    """`kubernetes/prometheus-operator/alertmanagerconfig.yaml`, when the Project asks for it."""
    operator = model.project.kubernetes["prometheusOperator"]
    if operator.alertmanager != "alertmanagerConfig" or model.routing is None:
        return {}
    routing = model.routing
    receivers = [_receiver(model, channel)
                 for channel in sorted(model.channels, key=lambda c: c.name)]
    root = _route(routing.route)
    if "receiver" not in root:
        root["receiver"] = alertmanager.NULL_RECEIVER
        receivers.append({"name": alertmanager.NULL_RECEIVER})
    spec: dict[str, Any] = {"route": root, "receivers": receivers}
    inhibits = [{"sourceMatch": _matchers(rule.source_matchers),
                 "targetMatch": _matchers(rule.target_matchers), "equal": list(rule.equal)}
                for rule in alertmanager.inhibit_rules(routing)]
    if inhibits:
        spec["inhibitRules"] = inhibits
    if routing.time_intervals:
        spec["muteTimeIntervals"] = [_interval(t) for t in routing.time_intervals]
    source = f"{routing.origin.document.path} (Routing {routing.name}) and Channels"
    return {PATH: objects.document({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": objects.metadata(name=model.project.name, namespace=operator.namespace,
                                     labels=operator.labels,
                                     annotations={objects.SOURCE: routing.origin.document.path}),
        "spec": spec,
    }, comments=[f"Source: {source}"])}


def _receiver(model: Model, channel: Named) -> dict[str, Any]:
    spec = channel.spec
    if not expressible(channel) or spec.type == "none":
        return {"name": channel.name}
    url = alertmanager.notifier_url(model, channel.name) if spec.type in NOTIFIER_TYPES \
        else spec.url
    config: dict[str, Any] = {"url": url, "sendResolved": spec.send_resolved}
    if getattr(spec, "max_alerts", None):
        config["maxAlerts"] = spec.max_alerts
    return {"name": channel.name, "webhookConfigs": [config]}


def _matchers(matchers: tuple[Any, ...]) -> list[dict[str, str]]:
    return [{"name": m.name, "value": m.value, "matchType": m.op}
            for m in matchers if isinstance(m, Matcher)]


def _route(route: Route) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if route.receiver is not None:
        data["receiver"] = route.receiver
    if route.matchers:
        data["matchers"] = _matchers(route.matchers)
    if route.group_by is not None:
        data["groupBy"] = list(route.group_by)
    for key, value in (("groupWait", route.group_wait), ("groupInterval", route.group_interval),
                       ("repeatInterval", route.repeat_interval)):
        if value is not None:
            data[key] = value
    if route.continue_:
        data["continue"] = True
    if route.mute_time_intervals:
        data["muteTimeIntervals"] = list(route.mute_time_intervals)
    if route.active_time_intervals:
        data["activeTimeIntervals"] = list(route.active_time_intervals)
    if route.routes:
        data["routes"] = [_route(child) for child in route.routes]
    return data


def _interval(interval: Any) -> dict[str, Any]:
    periods = []
    for period in interval.time_intervals:
        data: dict[str, Any] = {}
        if period.times:
            data["times"] = [{"startTime": t.start_time, "endTime": t.end_time}
                             for t in period.times]
        for key, values in (("weekdays", period.weekdays), ("months", period.months),
                            ("years", period.years)):
            if values:
                data[key] = list(values)
        if period.days_of_month:
            data["daysOfMonth"] = [_day_range(text) for text in period.days_of_month]
        periods.append(data)
    return {"name": interval.name, "timeIntervals": periods}


def _day_range(text: str) -> dict[str, int]:
    start, _, end = text.partition(":")
    return {"start": int(start), "end": int(end or start)}
