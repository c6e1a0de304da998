"""The fields of a rule group or rule that only vmalert knows, for `spec.vmalert`.

vmalert rule files are Prometheus rule files plus a few fields (`concurrency`, `type`,
`params`, `headers`, …). They are typed here as the spec expects; request headers whose
names look like credentials (`Authorization`, `X-Api-Key`) become secret references.
"""

from __future__ import annotations

from typing import Any

from converge.compiler.importers import documents as docs
from converge.compiler.importers.secrets import Secrets, header_is_secret

GROUP_FIELDS = {
    "type": "type", "concurrency": "concurrency", "params": "params", "headers": "headers",
    "notifier_headers": "notifierHeaders", "eval_offset": "evalOffset",
    "eval_delay": "evalDelay", "eval_alignment": "evalAlignment", "debug": "debug",
}
"""vmalert group fields, by their source name, with their spec name."""


def rule(raw: dict[str, Any], *, where: str) -> dict[str, Any]:
    """A rule's vmalert-only fields (`debug`, `update_entries_limit`), camelCase."""
    options: dict[str, Any] = {}
    if raw.get("debug") is not None:
        options["debug"] = docs.to_bool(raw["debug"], where=f"{where}: debug")
    if raw.get("update_entries_limit") is not None:
        options["updateEntriesLimit"] = docs.to_int(raw["update_entries_limit"],
                                                    where=f"{where}: update_entries_limit")
    return options


def group(raw: dict[str, Any], *, where: str, group: str,
                   secrets: Secrets) -> dict[str, Any]:
    """A group's vmalert-only fields, camelCase; secret-looking headers become references."""
    options: dict[str, Any] = {}
    for key, alias in GROUP_FIELDS.items():
        value = raw.get(key)
        if value is None:
            continue
        at = f"{where}: {key}"
        if key == "concurrency":
            options[alias] = docs.to_int(value, where=at)
        elif key in ("eval_alignment", "debug"):
            options[alias] = docs.to_bool(value, where=at)
        elif key in ("eval_offset", "eval_delay"):
            options[alias] = docs.to_duration(value, where=at)
        elif key == "params":
            options[alias] = {k: docs.string_list(v, where=f"{at}.{k}")
                              for k, v in docs.mapping(value, where=at).items()}
        elif key in ("headers", "notifier_headers"):
            options[alias] = [_header(h, where=f"{at}[{i}]", group=group, secrets=secrets)
                              for i, h in enumerate(docs.string_list(value, where=at))]
        else:
            options[alias] = docs.to_text(value, where=at)
    return options


def _header(text: str, *, where: str, group: str, secrets: Secrets) -> dict[str, Any]:
    name, separator, value = text.partition(":")
    if not separator or not name.strip():
        raise docs.SourceFormatError(f"{where}: expected 'Name: value'")  # never the value
    name, value = name.strip(), value.strip()
    if not header_is_secret(name):
        return {"name": name, "value": value}
    ref = secrets.env_ref(value, parts=(group, "header", name),
                          purpose=f"rule group {group!r}: header {name}")
    return {"name": name, "secret": ref}
