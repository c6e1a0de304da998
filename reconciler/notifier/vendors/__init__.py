"""One pure module per channel type: shape, split, sign and judge (see `vendors.base`)."""

from __future__ import annotations

from types import ModuleType

from converge.reconciler.notifier.vendors import (
    alertmanager,
    dingtalk,
    feishu,
    slack,
    smtp,
    webhook,
    wecom,
)

VENDORS: dict[str, ModuleType] = {
    "alertmanager": alertmanager, "dingtalk": dingtalk, "email": smtp, "feishu": feishu,
    "slack": slack, "webhook": webhook, "wecom": wecom,
}
"""The vendor module of each channel type the notifier delivers."""

__all__ = ["VENDORS"]
