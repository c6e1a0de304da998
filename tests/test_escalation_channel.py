"""A channel's escalation levels (issue 21): every route naming the channel as its
receiver without levels of its own escalates with them; the root does not; a route's
own levels win; they are checked once, at the channel."""

from __future__ import annotations

import yaml

from converge.compiler import pipeline
from converge.compiler.evaluate import routes
from converge.compiler.sources import SourceFile

SPECS = """
apiVersion: converge/v1
kind: Channel
metadata: {name: oncall}
spec:
  type: dingtalk
  accessToken: {env: DT}
  escalation:
    - {after: 15m, channels: [lead]}
---
apiVersion: converge/v1
kind: Channel
metadata: {name: lead}
spec: {type: wecom, key: {env: WK}}
---
apiVersion: converge/v1
kind: Routing
metadata: {name: main}
spec:
  route:
    receiver: oncall
    routes:
      - {matchers: ['severity="critical"'], receiver: oncall}
      - matchers: ['severity="warning"']
        receiver: oncall
        escalation: [{after: 1h, channels: [lead]}]
      - {matchers: ['severity="info"'], receiver: lead}
"""


def test_routes_naming_the_channel_take_its_levels() -> None:
    result = pipeline.check([SourceFile("specs.yaml", SPECS.encode())])
    assert result.diagnostics == [], result.diagnostics
    assert result.model is not None and result.model.routing is not None
    root = result.model.routing.route
    assert root.escalation == ()  # the root never escalates
    critical, warning, info = root.routes
    assert [(lvl.after, lvl.channels, lvl.channel) for lvl in critical.escalation] == [
        ("15m", ("lead",), "oncall")]
    assert [lvl.after for lvl in warning.escalation] == ["1h"]  # its own levels win
    assert info.escalation == ()
    assert [r.escalation_id for r in routes.escalating_for(
        root, {"alertname": "X", "severity": "critical"})] == ["0"]


def test_a_channels_bad_level_is_reported_once_at_the_channel() -> None:
    broken = SPECS.replace("[lead]}\n---", "[pd]}\n---", 1).replace(
        "- {matchers: ['severity=\"info\"'], receiver: lead}",
        "- {matchers: ['severity=\"info\"'], receiver: oncall}")
    docs = list(yaml.safe_load_all(broken))
    assert docs[0]["spec"]["escalation"][0]["channels"] == ["pd"]
    result = pipeline.check([SourceFile("specs.yaml", broken.encode())])
    found = [(d.code, d.span.line) for d in result.diagnostics]
    assert found == [("ref/unresolved", 9)]
