"""Routing assertions of a `Routing` (`spec.tests`): where an alert goes, what mutes it.

Three forms, told apart by their key:

- `alert` + `receivers`: the alert reaches exactly these channels, in the order
  Alertmanager notifies them (`continue` honoured), and optionally `escalations`: the
  escalation levels (`after`, `channels`) it reaches;
- `inhibited` + `while`: the first alert is muted while the second one fires;
- `notInhibited` + `while`: it is not.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from converge.specs.common import Duration, Labels, Spec


class AlertLabels(Spec):
    """An alert as Alertmanager receives it."""

    labels: Labels = Field(default_factory=dict)
    """Its labels; the Project's `externalLabels` are added unless set here (`""` removes
    one)."""


class ExpectedEscalation(Spec):
    """An escalation level the alert must reach."""

    after: Duration
    """When the level is paged, after the first notification."""
    channels: list[str]
    """The channels paged at that level."""


class RoutingTest(Spec):
    """One routing assertion."""

    name: str | None = None
    """Shown in failures; the assertion's position is shown anyway."""
    alert: AlertLabels | None = None
    """The alert to route; needs `receivers`."""
    receivers: list[str] | None = None
    """Channel names the alert reaches, in notification order; `[]` for none."""
    escalations: list[ExpectedEscalation] | None = None
    """With `alert`: the escalation levels it reaches, in order; `[]` for none."""
    inhibited: AlertLabels | None = None
    """An alert that must be muted `while` the other fires."""
    not_inhibited: AlertLabels | None = None
    """An alert that must not be muted `while` the other fires."""
    while_: AlertLabels | None = Field(default=None, alias="while")
    """The firing alert an inhibit rule takes as its source."""

    @model_validator(mode="after")
    def _one_form(self) -> RoutingTest:
        forms = [key for key, value in (("alert", self.alert), ("inhibited", self.inhibited),
                                        ("notInhibited", self.not_inhibited))
                 if value is not None]
        if len(forms) != 1:
            raise PydanticCustomError(
                "routing_test", "a routing test needs exactly one of 'alert', 'inhibited' or "
                "'notInhibited'{found}", {"found": f", not {' and '.join(forms)}" if forms else ""})
        form = forms[0]
        given = {"receivers": self.receivers is not None, "while": self.while_ is not None}
        needed, refused = ("receivers", "while") if form == "alert" else ("while", "receivers")
        if not given[needed]:
            raise PydanticCustomError("routing_test", "'{form}' needs '{needed}'",
                                      {"form": form, "needed": needed})
        if self.escalations is not None and form != "alert":
            raise PydanticCustomError("routing_test", "'escalations' goes with 'alert' only",
                                      {})
        if given[refused]:
            raise PydanticCustomError("routing_test", "'{refused}' does not go with '{form}'",
                                      {"form": form, "refused": refused})
        return self


__all__ = ["AlertLabels", "ExpectedEscalation", "RoutingTest"]
