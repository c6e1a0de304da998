"""A small valid repository used as the starting point of mutation tests."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from converge.compiler.sources import SourceFile

DOCUMENTS: list[dict[str, Any]] = [
    {"apiVersion": "converge/v1", "kind": "Project", "metadata": {"name": "demo"},
     "spec": {"externalLabels": {"cluster": "prod"}, "defaults": {"interval": "30s"}}},
    {"apiVersion": "converge/v1", "kind": "RuleGroup", "metadata": {"name": "system"},
     "spec": {"interval": "1m", "rules": [
         {"alert": "HighCPU",
          "expr": "avg by (instance) (rate(process_cpu_seconds_total[5m])) * 100 > $threshold",
          "for": "5m", "thresholds": {"warning": 80, "critical": 95},
          "labels": {"component": "runtime"},
          "annotations": {"summary": "CPU on {{ $labels.instance }} at {{ $value }}%"}},
         {"record": "job:up:sum", "expr": "sum by (job) (up)"},
         {"alert": "Down", "expr": "up == 0", "for": "1m",
          "labels": {"severity": "critical"},
          "annotations": {"summary": "{{ $labels.job }} on {{ $labels.instance }} is down"}},
     ]}},
    {"apiVersion": "converge/v1", "kind": "Channel", "metadata": {"name": "ops"},
     "spec": {"type": "webhook", "url": "http://127.0.0.1:9000/hook"}},
    {"apiVersion": "converge/v1", "kind": "Channel", "metadata": {"name": "oncall"},
     "spec": {"type": "dingtalk", "accessToken": {"env": "DINGTALK_TOKEN"},
              "secret": {"env": "DINGTALK_SECRET"}}},
    {"apiVersion": "converge/v1", "kind": "Routing", "metadata": {"name": "main"},
     "spec": {"route": {"receiver": "ops", "groupBy": ["alertname", "cluster"],
                        "routes": [{"matchers": ['severity="critical"'],
                                    "receiver": "oncall"}]},
              "inhibitRules": [{"sourceMatchers": ['alertname="Down"'],
                                "targetMatchers": ['severity="warning"'],
                                "equal": ["instance"]}]}},
    {"apiVersion": "converge/v1", "kind": "HealingPolicy", "metadata": {"name": "critical"},
     "spec": {"selector": {"labels": {"tier": "critical"}},
              "check": {"type": "http", "http": {"port": 8080, "path": "/health"},
                        "interval": "10s", "timeout": "2s"},
              "failureThreshold": 2, "restart": {"maxRestarts": 10, "window": "10m"},
              "alert": {"channels": ["oncall"]}}},
    {"apiVersion": "converge/v1", "kind": "WorkerPool", "metadata": {"name": "ai-analysis"},
     "spec": {"image": "worker:1.0", "command": ["./worker", "-type=ai-analysis"],
              "replicas": {"min": 1, "max": 5}, "healingPolicy": "critical",
              "scaling": {"metrics": [{"query": 'sum(queue_length{queue="ai"})',
                                       "target": 10}]}}},
]


def documents() -> list[dict[str, Any]]:
    """A fresh deep copy of the valid documents."""
    return copy.deepcopy(DOCUMENTS)


def dump(docs: list[Any]) -> bytes:
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True).encode("utf-8")


def source(docs: list[Any] | None = None, path: str = "specs.yaml") -> SourceFile:
    return SourceFile(path, dump(documents() if docs is None else docs))
