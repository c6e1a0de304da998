"""Deliver to every integration of a receiver, with routes that each name one channel.

In Alertmanager a route names one receiver, which may hold several integrations. A
converge route names one channel, so such a receiver became several channels, and the
route tree must send each alert the receiver would have got to all of them.

Alertmanager notifies a route's receiver when the route matches and none of its children
does (a matching child with `continue: true` counts). So the fan-out goes after the
route's own children: one child route per channel, no matchers, `continue: true` on all
but the last, the route's mute and active time intervals copied (Alertmanager does not
inherit those), grouping and timing inherited. After a child with `continue: false`
matches, the fan-out is never reached, as before. When a `continue: true` child has
matched, it must not fire either: the fan-out is then put under guard routes that match
exactly the alerts no such child matches. Not matching `a="x", b=~"y"` means matching
`a!="x"` or `b!~"y"`; each guard route takes one negated matcher per `continue` child,
and the first guard that matches wins. A child with no matchers takes every alert, so
then the route's own receiver is never notified and nothing is added.
"""

from __future__ import annotations

import itertools
from typing import Any

from converge.compiler.importers import am_matchers

MAX_GUARDS = 64
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
_INTERVALS = ("muteTimeIntervals", "activeTimeIntervals")


def routes(parent: dict[str, Any], children: list[dict[str, Any]],
           channels: list[str]) -> tuple[list[dict[str, Any]], bool]:
    """The routes to append to `parent`'s children so every channel gets its alerts.

    Returns:
        The routes, and whether they deliver exactly as Alertmanager did (False only when
        the guards would exceed `MAX_GUARDS` routes; the plain fan-out is used then).
    """
    if any(not child.get("matchers") for child in children):
        return [], True
    leaves = [{"receiver": name, **{key: list(parent[key]) for key in _INTERVALS if key in parent},
               **({"continue": True} if i < len(channels) - 1 else {})}
              for i, name in enumerate(channels)]
    continuing = [child["matchers"] for child in children if child.get("continue")]
    if not continuing:
        return leaves, True
    count = 1
    for matchers in continuing:
        count *= len(matchers)
    if count > MAX_GUARDS:
        return leaves, False
    guards = [{"matchers": list(dict.fromkeys(_negate(m) for m in combination)),
               "routes": [dict(leaf) for leaf in leaves]}
              for combination in itertools.product(*continuing)]
    return guards, True


def _negate(text: str) -> str:
    matcher = am_matchers.split(text, where="matcher")[0]
    return type(matcher)(matcher.name, _NEGATED[matcher.op], matcher.value).render()
