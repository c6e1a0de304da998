"""The notifier's metrics, `converge_notifier_…`, in the daemon's own registry.

Labels stay bounded: channel names come from the bundle, reasons are a fixed set.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from converge.reconciler.core.metrics import name
from converge.reconciler.notifier.vendors.base import Outcome

DAEMON = "notifier"


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        def n(suffix: str) -> str:
            return name(DAEMON, suffix)

        self.received = Counter(n("received_total"), "Messages accepted into the outbox.",
                                ["channel", "kind"], registry=registry)
        self.deduplicated = Counter(n("deduplicated_total"),
                                    "Messages dropped as identical to one within the window.",
                                    ["channel"], registry=registry)
        self.skipped = Counter(n("skipped_total"), "Messages not wanted by the channel "
                               "(resolved notifications with sendResolved false).",
                               ["channel"], registry=registry)
        self.rejected = Counter(n("rejected_total"), "Requests refused (bad payload, no "
                                "alerts, unknown channel, outbox failure).", ["reason"],
                                registry=registry)
        self.events_undeliverable = Counter(
            n("events_undeliverable_channels_total"), "Channels named by events that cannot "
            "take events here (the other copies are delivered).", registry=registry)
        self.events_without_destination = Counter(
            n("events_without_destination_total"), "Daemon events no channel took (none "
            "named, routed or set as the Project's eventChannels).", ["level"],
            registry=registry)
        self.escalations = Counter(n("escalations_paged_total"), "Escalation pages sent, "
                                   "by level (1 = first).", ["level"], registry=registry)
        self.acknowledged = Counter(n("escalations_acknowledged_total"), "Tracked alerts "
                                    "acknowledged (api, console, alertmanager silence).",
                                    ["by"], registry=registry)
        self.escalations_pending = Gauge(n("escalations_pending"), "Firing alerts tracked "
                                         "for escalation and not acknowledged.",
                                         registry=registry)
        self.delivered = Counter(n("delivered_total"), "Messages delivered (every part).",
                                 ["channel"], registry=registry)
        self.parts = Counter(n("parts_sent_total"), "Requests the vendor accepted.",
                             ["channel"], registry=registry)
        self.retried = Counter(n("retried_total"), "Failed attempts that will be retried.",
                               ["channel", "reason"], registry=registry)
        self.dead_lettered = Counter(n("dead_lettered_total"), "Messages moved to the "
                                     "dead-letter table.", ["channel"], registry=registry)
        self.possible_duplicates = Counter(n("possible_duplicates_total"),
                                           "Sends repeated after a crash interrupted them.",
                                           registry=registry)
        self.queue_depth = Gauge(n("queue_depth"), "Messages waiting per channel.", ["channel"],
                                 registry=registry)
        self.backlog_age = Gauge(n("oldest_pending_age_seconds"), "Age of the oldest "
                                 "message waiting per channel (0: none waiting).",
                                 ["channel"], registry=registry)
        self.dead_letters = Gauge(n("dead_letters"), "Dead letters per channel.", ["channel"],
                                  registry=registry)
        self.latency = Histogram(n("delivery_latency_seconds"),
                                 "From acceptance to the last part delivered.", ["channel"],
                                 registry=registry,
                                 buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                          300, 1800, 3600))
        self.attempt = Histogram(n("attempt_duration_seconds"), "One request to the vendor.",
                                 ["channel"], registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                          15))


def retry_reason(outcome: Outcome) -> str:
    """A bounded label for a retry: timeout, network, rate-limited, http or vendor."""
    text = outcome.reason
    if outcome.rate_limited:
        return "rate-limited"
    if text.startswith("timeout"):
        return "timeout"
    if text.startswith("network"):
        return "network"
    if text.startswith("HTTP"):
        return "http"
    return "vendor"
