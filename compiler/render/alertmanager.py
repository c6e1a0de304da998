"""The Alertmanager configuration: route tree, receivers, inhibit rules, time intervals.

Channel types Alertmanager delivers natively become native receivers; dingtalk, wecom and
feishu become webhook receivers pointing at `converge notifier` (one path per channel).
Secrets become placeholders (see `converge.compiler.render.secrets`). Only fields the target
version knows are rendered.
"""

from __future__ import annotations

from typing import Any

from converge.compiler import targets
from converge.compiler.matchers import Matcher
from converge.compiler.model import InhibitRule, Model, Named, Route, Routing
from converge.compiler.render import environment, secrets, yamlsafe
from converge.specs.channel import NOTIFIER_TYPES

TEMPLATE = "alertmanager.yaml.j2"
PATH = "alertmanager/alertmanager.yaml"
NULL_RECEIVER = "converge-null"
NOTIFIER_PATH = "/hooks/alertmanager/"
ESCALATION_PATH = "/hooks/escalation/"
"""Where Alertmanager posts the alerts of a route with escalation levels."""
ESCALATION_RECEIVER = "converge-escalation-"


def notifier_url(model: Model, channel: str) -> str:
    """Where Alertmanager posts alerts for a channel the notifier delivers."""
    return f"{model.project.notifier_url}{NOTIFIER_PATH}{channel}"


def render(model: Model, *, templates_glob: str = "templates/*.tmpl") -> dict[str, str]:
    """`alertmanager/alertmanager.yaml` plus one template file per channel template.

    `templates_glob` is where the configuration finds them (the Kubernetes Secret's keys
    are mounted elsewhere: `converge.compiler.render.alertmanager_secret`).
    """
    version = model.project.targets["alertmanager"].version
    routing = model.routing
    root = _route(routing.route) if routing else {
        "receiver": None, "matchers": [], "group_by": None, "group_wait": None,
        "group_interval": None, "repeat_interval": None, "continue": False,
        "mute_time_intervals": [], "active_time_intervals": [], "routes": []}
    channels = sorted(model.channels, key=lambda c: c.name)  # not document order
    receivers = [_receiver(model, channel) for channel in channels]
    if routing is not None:
        receivers += [_escalation_receiver(model, route)
                      for route in escalating(routing.route)]
    if root["receiver"] is None:
        root["receiver"] = NULL_RECEIVER
        receivers.append({"name": NULL_RECEIVER, "integrations": []})
    templates = {f"alertmanager/templates/{c.name}.tmpl": _template_file(c)
                 for c in channels
                 if c.spec.type not in NOTIFIER_TYPES and c.spec.template is not None}
    if routing is not None:  # `_` starts no channel name: no clash
        templates.update({f"alertmanager/templates/_{name}.tmpl": _shared_template(routing, name)
                          for name in sorted(routing.templates)})
    new_intervals = targets.ALERTMANAGER_FEATURES["timeIntervals"].accepts(version)
    config = {
        "route": root,
        "receivers": receivers,
        "inhibit_rules": [_inhibit(r) for r in inhibit_rules(routing)] if routing else [],
        "time_intervals": [_interval(t) for t in routing.time_intervals] if routing else [],
        "time_intervals_key": "time_intervals" if new_intervals else "mute_time_intervals",
        "templates": [templates_glob] if templates else [],
    }
    source = routing.origin.document.path + f" (Routing {routing.name}) and Channels" if (
        routing) else "Channels"
    files = {PATH: environment.render(TEMPLATE, config=config, source=source)}
    files.update(templates)
    return files


def _matchers(matchers: tuple[Any, ...]) -> list[str]:
    return [m.render() for m in matchers if isinstance(m, Matcher)]


def _route(route: Route) -> dict[str, Any]:
    return {
        "receiver": route.receiver,
        "matchers": _matchers(route.matchers),
        "group_by": list(route.group_by) if route.group_by is not None else None,
        "group_wait": route.group_wait,
        "group_interval": route.group_interval,
        "repeat_interval": route.repeat_interval,
        "continue": route.continue_,
        "mute_time_intervals": list(route.mute_time_intervals),
        "active_time_intervals": list(route.active_time_intervals),
        "routes": [rendered for child in route.routes for rendered in (
            [_escalation_route(child), _route(child)] if child.escalation else
            [_route(child)])],
    }


def escalating(route: Route) -> list[Route]:
    """The routes with escalation levels, depth first."""
    found = [route] if route.escalation else []
    for child in route.routes:
        found += escalating(child)
    return found


def _escalation_route(route: Route) -> dict[str, Any]:
    """A sibling just before `route`, with its matchers and timing and `continue: true`:
    every alert the route takes also reaches the notifier's escalation hook, and the
    route still matches as before."""
    rendered = _route(route)
    rendered.update(receiver=ESCALATION_RECEIVER + route.escalation_id, routes=[])
    rendered["continue"] = True
    return rendered


def _escalation_receiver(model: Model, route: Route) -> dict[str, Any]:
    url = f"{model.project.notifier_url}{ESCALATION_PATH}{route.escalation_id}"
    return {"name": ESCALATION_RECEIVER + route.escalation_id,
            "integrations": [("webhook_configs", [{"send_resolved": True, "url": url}])]}


def inhibit_rules(routing: Routing) -> list[InhibitRule]:
    """The written rules in their order, then the generated ones by alert name, so the
    output does not depend on the order of the documents."""
    written = [r for r in routing.inhibit_rules if r.generated_for is None]
    generated = [r for r in routing.inhibit_rules if r.generated_for is not None]
    return written + sorted(generated, key=lambda r: r.generated_for or "")


def _inhibit(rule: InhibitRule) -> dict[str, Any]:
    return {"source_matchers": _matchers(rule.source_matchers),
            "target_matchers": _matchers(rule.target_matchers),
            "equal": list(rule.equal)}


def _interval(interval: Any) -> dict[str, Any]:
    periods = []
    for period in interval.time_intervals:
        data = period.model_dump(exclude_none=True, exclude_defaults=True, by_alias=False)
        if "times" in data:
            data["times"] = [{"start_time": t["start_time"], "end_time": t["end_time"]}
                             for t in data["times"]]
        periods.append(data)
    return {"name": interval.name, "time_intervals": periods}


def _secret(reference: Any) -> str:
    return secrets.placeholder(reference.model_dump())


def _define(channel: Named, field: str) -> str:
    return f'{{{{ template "converge.{channel.name}.{field}" . }}}}'


def _texts(channel: Named, mapping: dict[str, str]) -> dict[str, str]:
    """Receiver fields that take the channel's title/body templates."""
    template = channel.spec.template
    if template is None:
        return {}
    return {key: _define(channel, field) for key, field in mapping.items()
            if getattr(template, field)}


def _shared_template(routing: Routing, name: str) -> str:
    """One of the Routing's template files, as written, under converge's header."""
    source = " ".join(f"{routing.origin.document.path} (Routing {routing.name}, "
                      f"templates.{name})".split()).replace("*/", "* /")
    return ("{{/* Generated by converge. DO NOT EDIT. */}}\n"
            f"{{{{/* Source: {source} */}}}}\n{routing.templates[name]}")


def _template_file(channel: Named) -> str:
    template = channel.spec.template
    source = " ".join(f"{channel.origin.document.path} (Channel {channel.name})".split())
    parts = ["{{/* Generated by converge. DO NOT EDIT. */}}\n",
             f"{{{{/* Source: {source.replace('*/', '* /')} */}}}}\n"]
    for field in ("title", "body"):
        text = getattr(template, field)
        if text:
            parts.append(f'{{{{ define "converge.{channel.name}.{field}" }}}}{text}'
                         "{{ end }}\n")
    return "".join(parts)


def _receiver(model: Model, channel: Named) -> dict[str, Any]:
    spec = channel.spec
    kind = spec.type
    common: dict[str, Any] = {"send_resolved": spec.send_resolved}
    if kind == "none":
        return {"name": channel.name, "integrations": []}
    if kind in NOTIFIER_TYPES:
        return {"name": channel.name, "integrations": [
            ("webhook_configs", [{**common, "url": notifier_url(model, channel.name)}])]}
    build = _BUILDERS[kind]
    return {"name": channel.name,
            "integrations": [(f"{kind}_configs", [{**common, **build(channel)}])]}


def _present(spec: Any, *fields: str) -> dict[str, Any]:
    """The given optional fields of a channel spec that are set, by their Alertmanager key."""
    return {field: getattr(spec, field) for field in fields if getattr(spec, field) is not None}


def _webhook(channel: Named) -> dict[str, Any]:
    spec = channel.spec
    config: dict[str, Any] = {"url": spec.url if spec.url else _secret(spec.url_secret)}
    http: dict[str, Any] = {}
    if spec.basic_auth is not None:
        http["basic_auth"] = {"username": spec.basic_auth.username,
                              "password": _secret(spec.basic_auth.password)}
    if spec.bearer_token is not None:
        http["authorization"] = {"credentials": _secret(spec.bearer_token)}
    if http:
        config["http_config"] = http
    if spec.max_alerts:
        config["max_alerts"] = spec.max_alerts
    return config


def _slack(channel: Named) -> dict[str, Any]:
    spec = channel.spec
    config = {"api_url": _secret(spec.api_url)}
    config.update(_present(spec, "channel", "username", "icon_emoji"))
    return {**config, **_texts(channel, {"title": "title", "text": "body"})}


def _email(channel: Named) -> dict[str, Any]:
    spec = channel.spec
    config: dict[str, Any] = {"to": ", ".join(spec.to), "from": spec.from_,
                              "smarthost": spec.smarthost, "require_tls": spec.require_tls}
    config.update(_present(spec, "auth_username", "text"))
    if spec.auth_password is not None:
        config["auth_password"] = _secret(spec.auth_password)
    headers = dict(spec.headers)
    texts = _texts(channel, {"Subject": "title", "html": "body"})
    if "Subject" in texts:
        headers["Subject"] = texts.pop("Subject")
    if headers:  # header names are spec text (`Reply-To`), so quoted keys
        config["headers"] = {yamlsafe.quote(k): v for k, v in sorted(headers.items())}
    return {**config, **texts}


def _pagerduty(channel: Named) -> dict[str, Any]:
    spec = channel.spec
    config = {"routing_key": _secret(spec.routing_key), **_present(spec, "severity", "url")}
    return {**config, **_texts(channel, {"description": "title"})}


def _opsgenie(channel: Named) -> dict[str, Any]:
    spec = channel.spec
    config = {"api_key": _secret(spec.api_key), **_present(spec, "api_url", "priority")}
    return {**config, **_texts(channel, {"message": "title", "description": "body"})}


def _telegram(channel: Named) -> dict[str, Any]:
    spec = channel.spec
    config = {"bot_token": _secret(spec.bot_token), "chat_id": spec.chat_id,
              **_present(spec, "parse_mode")}
    return {**config, **_texts(channel, {"message": "body"})}


def _discord(channel: Named) -> dict[str, Any]:
    return {"webhook_url": _secret(channel.spec.webhook_url),
            **_texts(channel, {"title": "title", "message": "body"})}


def _msteams(channel: Named) -> dict[str, Any]:
    return {"webhook_url": _secret(channel.spec.webhook_url),
            **_texts(channel, {"title": "title", "text": "body"})}


_BUILDERS = {
    "webhook": _webhook, "slack": _slack, "email": _email, "pagerduty": _pagerduty,
    "opsgenie": _opsgenie, "telegram": _telegram, "discord": _discord, "msteams": _msteams,
}
