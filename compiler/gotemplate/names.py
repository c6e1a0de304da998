"""The names each template dialect predefines: its functions and its ``$variables``.

Prometheus, vmalert and Alertmanager each give Go's template engine a different set of
functions and predeclared variables. Keeping them apart from the parser lets callers ask what
a dialect knows (``known_names``) without touching the lexer or the parser.
"""

from __future__ import annotations

from typing import Final, Literal

Dialect = Literal["prometheus", "vmalert", "alertmanager"]


#: The functions every Go text/template has (``text/template/funcs.go``).
_GO_BUILTINS: Final[frozenset[str]] = frozenset(
    {
        "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "call",
        "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery",
    }
)  # fmt: skip

#: Prometheus alerting-rule templates (``template/template.go``, Prometheus 3.x). ``tmpl`` is
#: left out on purpose: it exists only in console templates, and promtool rejects it in rules.
PROMETHEUS_FUNCTIONS: Final[frozenset[str]] = _GO_BUILTINS | {
    # Queries.
    "query", "first", "label", "value", "strvalue", "sortByLabel",
    # Numbers and times.
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "toTime", "toDuration", "now", "parseDuration",
    # Strings.
    "title", "toUpper", "toLower", "stripPort", "stripDomain", "match", "reReplaceAll",
    "graphLink", "tableLink",
    # Others.
    "args", "safeHtml", "pathPrefix", "externalURL",
}  # fmt: skip

#: vmalert annotation and label templates (``app/vmalert/templates/template.go``).
VMALERT_FUNCTIONS: Final[frozenset[str]] = _GO_BUILTINS | {
    # Strings.
    "title", "toUpper", "toLower", "crlfEscape", "quotesEscape", "jsonEscape", "htmlEscape",
    "stripPort", "stripDomain", "match", "reReplaceAll", "parseDuration", "parseDurationTime",
    # Numbers and times.
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "toTime",
    # URLs.
    "externalURL", "pathPrefix", "pathEscape", "queryEscape",
    # Queries.
    "query", "first", "label", "value", "strvalue", "sortByLabel",
    # Helpers.
    "args", "safeHtml",
}  # fmt: skip

#: Alertmanager notification templates (``DefaultFuncs`` in ``template/template.go``), up to
#: the ``now``/``list``/``append``/``dict`` helpers of recent releases.
ALERTMANAGER_FUNCTIONS: Final[frozenset[str]] = _GO_BUILTINS | {
    "toUpper", "toLower", "title", "trimSpace", "join", "match", "safeHtml", "safeUrl",
    "urlUnescape", "reReplaceAll", "stringSlice", "date", "tz", "since", "humanizeDuration",
    "toJson", "now", "list", "append", "dict",
}  # fmt: skip

_FUNCTIONS: Final[dict[str, frozenset[str]]] = {
    "prometheus": PROMETHEUS_FUNCTIONS,
    "vmalert": VMALERT_FUNCTIONS,
    "alertmanager": ALERTMANAGER_FUNCTIONS,
}

#: Variables each tool declares before the template text (``$`` always exists). Prometheus
#: and vmalert prepend ``{{$labels := .Labels}}`` and friends to every alert template.
_VARIABLES: Final[dict[str, tuple[str, ...]]] = {
    "prometheus": ("$labels", "$externalLabels", "$externalURL", "$value"),
    "vmalert": (
        "$value", "$labels", "$expr", "$externalLabels", "$externalURL", "$alertID",
        "$groupID", "$activeAt", "$for",
    ),
    "alertmanager": (),
}  # fmt: skip


def known_names(dialect: Dialect) -> tuple[frozenset[str], tuple[str, ...]]:
    """The functions and predefined ``$variables`` of a dialect."""
    return _FUNCTIONS[dialect], _VARIABLES[dialect]
