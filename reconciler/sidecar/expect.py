"""What a target should report once it loaded a set, and how to compare with what it says.

Pure: rule groups expected from the published rule files, the same read from a target's
`/api/v1/rules`, Alertmanager's `alertmanager_config_hash` of the bytes written, and
single values from a `/metrics` text. Each comparison returns a human reason or None.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping
from typing import Any

import yaml

Rule = tuple[str, ...]
"""(type, name) for Prometheus; (type, name, query) for vmalert, whose API keeps the text."""
Groups = dict[tuple[str, str], list[Rule]]
"""(file name, group name) → its rules in order."""

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def rule_groups(files: Mapping[str, bytes], *, with_query: bool) -> Groups:
    """The groups of the published rule files (name under DEST → bytes).

    Raises:
        ValueError: a file is not a rule file.
    """
    groups: Groups = {}
    for name, data in sorted(files.items()):
        if not name.endswith((".yaml", ".yml")):
            continue
        try:
            groups.update(_file_groups(name, data, with_query=with_query))
        except (yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{name}: not a rule file ({type(error).__name__}: {error})"
                             ) from None
    return groups


def _file_groups(name: str, data: bytes, *, with_query: bool) -> Groups:
    groups: Groups = {}
    document = yaml.load(data, Loader=_LOADER) or {}
    for group in document.get("groups") or []:
        rules: list[Rule] = []
        for rule in group.get("rules") or []:
            kind, rule_name = (("alerting", rule["alert"]) if "alert" in rule
                               else ("recording", rule["record"]))
            rules.append((kind, str(rule_name), str(rule["expr"])) if with_query
                         else (kind, str(rule_name)))
        groups[(name, str(group["name"]))] = rules
    return groups


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
            "y": 31536000}


def longest_interval(files: Mapping[str, bytes], *, default: float = 60.0) -> float:
    """The longest group `interval` in the rule files, in seconds (`default` for a group
    without one, and for a file that cannot be read)."""
    longest = 0.0
    for name, data in files.items():
        if not name.endswith((".yaml", ".yml")):
            continue
        try:
            document = yaml.load(data, Loader=_LOADER) or {}
            intervals = [g.get("interval") for g in document.get("groups") or []]
        except (yaml.YAMLError, AttributeError, TypeError):
            return max(longest, default)
        for text in intervals:
            parts = _DURATION.findall(str(text)) if text is not None else []
            seconds = sum(int(n) * _SECONDS[unit] for n, unit in parts)
            longest = max(longest, seconds if parts else default)
    return longest


def loaded_groups(api: Mapping[str, Any], *, dest: str, with_query: bool) -> Groups:
    """The groups a target reports from files directly under `dest` (the path the target
    reads the published directory at)."""
    groups: Groups = {}
    for group in api.get("data", {}).get("groups") or []:
        directory, name = posixpath.split(str(group.get("file", "")))
        if posixpath.normpath(directory) != posixpath.normpath(dest):
            continue
        rules: list[Rule] = []
        for rule in group.get("rules") or []:
            kind, rule_name = str(rule.get("type")), str(rule.get("name"))
            rules.append((kind, rule_name, str(rule.get("query"))) if with_query
                         else (kind, rule_name))
        groups[(name, str(group.get("name")))] = rules
    return groups


def compare_groups(expected: Groups, loaded: Groups) -> str | None:
    """Why `loaded` differs from `expected`, or None when they are the same."""
    missing = sorted(set(expected) - set(loaded))
    extra = sorted(set(loaded) - set(expected))
    if missing:
        return "not loaded: " + ", ".join(f"group {g!r} ({f})" for f, g in missing[:5])
    if extra:
        return "still loaded: " + ", ".join(f"group {g!r} ({f})" for f, g in extra[:5])
    for key in sorted(expected):
        if expected[key] != loaded[key]:
            want, got = expected[key], loaded[key]
            return (f"group {key[1]!r} ({key[0]}): {len(got)} rule(s) loaded, {len(want)} "
                    "expected" if len(want) != len(got) else
                    f"group {key[1]!r} ({key[0]}): loaded rules differ from the file")
    return None


def alertmanager_config_hash(data: bytes) -> float:
    """`alertmanager_config_hash`: the first 6 bytes of the MD5 of the raw config,
    little-endian, as a float (Alertmanager's `config/coordinator.go`)."""
    return float(int.from_bytes(hashlib.md5(data).digest()[:6], "little"))


def metric(text: str, name: str) -> float | None:
    """The value of the unlabelled sample `name` in a `/metrics` text, if present."""
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
            try:
                return float(line.rsplit(" ", 1)[1] if "}" not in line
                             else line.rsplit("}", 1)[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None
