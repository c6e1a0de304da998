"""Tests for converge.compiler.gotemplate: Go text/template checks for alert and Alertmanager
templates.

Every case names its dialect. The ``realtools`` test at the end runs the same cases through the
installed promtool, vmalert and amtool, which must agree on valid versus invalid, except where a
case needs a newer release than the installed one or where we are stricter than Go on purpose.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import realtools
from hypothesis import given, settings
from hypothesis import strategies as st

from converge.compiler.gotemplate import (
    ALERTMANAGER_FUNCTIONS,
    PROMETHEUS_FUNCTIONS,
    VMALERT_FUNCTIONS,
    Dialect,
    LabelReference,
    TemplateProblem,
    label_references,
    template_problems,
)

# --- Valid templates ----------------------------------------------------------------------------

ALERTMANAGER_SUBJECT = (
    '{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:'
    '{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} '
    "{{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove "
    '.GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}'
)

ALERTMANAGER_ALERT_LIST = """\
{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}"""

ALERTMANAGER_OPSGENIE_DESCRIPTION = """\
{{ define "opsgenie.default.description" }}{{ .CommonAnnotations.SortedPairs.Values | join " " }}
{{ if gt (len .Alerts.Firing) 0 -}}
Alerts Firing:
{{ template "__text_alert_list" .Alerts.Firing }}
{{- end }}
{{ if gt (len .Alerts.Resolved) 0 -}}
Alerts Resolved:
{{ template "__text_alert_list" .Alerts.Resolved }}
{{- end }}
{{- end }}"""

PROMETHEUS_REUSABLE_TEMPLATES = """\
{{/* Define the template */}}
{{define "myTemplate"}}
  do something
{{end}}

{{/* Use the template */}}
{{template "myTemplate"}}
{{define "myMultiArgTemplate"}}
  First argument: {{.arg0}}
  Second argument: {{.arg1}}
{{end}}
{{template "myMultiArgTemplate" (args 1 2)}}"""

VALID = [
    # Prometheus: the documentation's examples and common annotations.
    pytest.param(
        "prometheus",
        "{{$labels.instance}} of job {{$labels.job}} has been down for more than 5 minutes.",
        id="prometheus-docs-instance-down",
    ),
    pytest.param(
        "prometheus",
        "{{ $labels.instance }} is at {{ $value | humanizePercentage }}",
        id="pipe-to-function",
    ),
    pytest.param("prometheus", "{{ if gt $value 80.0 }}high{{ else }}ok{{ end }}", id="if-else"),
    pytest.param(
        "prometheus",
        '{{ range query "up" }}\n  {{ .Labels.instance }} {{ .Value }}\n{{ end }}',
        id="prometheus-docs-simple-iteration",
    ),
    pytest.param(
        "prometheus",
        "{{ with query \"some_metric{instance='someinstance'}\" }}\n"
        "  {{ . | first | value | humanize }}\n{{ end }}",
        id="prometheus-docs-display-one-value",
    ),
    pytest.param(
        "prometheus",
        "{{ range printf \"node_network_receive_bytes_total{job='node',instance='%s'}\" "
        '$labels.instance | query | sortByLabel "device" }}\n'
        "  {{ .Labels.device }} {{ .Value | humanize }}B/s\n{{ end }}",
        id="prometheus-docs-advanced-iteration",
    ),
    pytest.param("prometheus", PROMETHEUS_REUSABLE_TEMPLATES, id="prometheus-docs-define"),
    pytest.param(
        "prometheus",
        '{{- /* comment */ -}}Disk {{ $labels.device }} is {{ printf "%.2f" $value }}% full',
        id="trimmed-comment-and-printf",
    ),
    pytest.param("prometheus", "{{/* a */}}{{- /* b */}}{{/* c */ -}}", id="comment-forms"),
    pytest.param(
        "prometheus",
        '{{ $labels.instance | reReplaceAll "(.+):\\\\d+" "$1" | toUpper }}',
        id="pipeline-of-three",
    ),
    pytest.param(
        "prometheus",
        "{{ reReplaceAll `(.+):\\d+` `$1` $labels.instance }}",
        id="raw-strings",
    ),
    pytest.param(
        "prometheus",
        '{{ range $i, $e := query "up" }}{{ if $i }}, {{ end }}{{ $e.Labels.instance }}{{ end }}',
        id="range-two-variables",
    ),
    pytest.param(
        "prometheus",
        "{{ if and (ge $value 0.9) (lt $value 1.0) }}warning"
        "{{ else if ge $value 1.0 }}critical{{ else }}ok{{ end }}",
        id="else-if-chain",
    ),
    pytest.param(
        "prometheus",
        "{{ if $a := 1 }}{{ else if $b := 2 }}{{ $a }}{{ else }}{{ $a }}{{ $b }}{{ end }}",
        id="else-if-sees-earlier-conditions",
    ),
    pytest.param(
        "prometheus",
        "{{ $externalLabels.cluster }}: {{ $externalURL }}/alerts {{ .ExternalURL }}",
        id="external-variables",
    ),
    pytest.param(
        "prometheus",
        "{{ humanizeDuration $value }} {{ humanize1024 $value }} {{ $value | humanizeTimestamp }}"
        ' {{ toTime $value }} {{ parseDuration "5m" }}',
        id="humanize-functions",
    ),
    pytest.param(
        "prometheus",
        '{{ graphLink "up" }} {{ tableLink "up" }} {{ pathPrefix }} {{ externalURL }} '
        '{{ title "a" }} {{ toLower "A" }} {{ match "a" "b" }} {{ safeHtml "<b>" }} '
        '{{ stripPort "a:1" }} {{ label "job" (query "up" | first) }} '
        '{{ strvalue (query "up" | first) }}',
        id="string-and-url-functions",
    ),
    pytest.param(
        "prometheus",
        '{{ len $labels }} {{ index $labels "a" }} {{ slice "abc" 1 }} {{ html "<" }} '
        '{{ js "a" }} {{ urlquery "a b" }} {{ println 1 }} {{ or 1 2 }} {{ not true }} '
        "{{ eq 1 1 }} {{ ne 1 2 }} {{ le 1 2 }} {{ ge 1 2 }} {{ lt 1 2 }} {{ print nil }}",
        id="go-builtins",
    ),
    pytest.param("prometheus", "{{ .Labels.instance }} ({{ .Value }})", id="data-fields"),
    pytest.param(
        "prometheus",
        '{{ $x := 0 }}{{ range query "up" }}{{ $x = 1 }}{{ end }}{{ $x }}',
        id="assign-declared-variable",
    ),
    pytest.param(
        "prometheus",
        '{{ range query "up" }}{{ if eq .Value 0.0 }}{{ continue }}{{ end }}'
        "{{ .Labels.job }}{{ break }}{{ end }}",
        id="break-and-continue",
    ),
    pytest.param(
        "prometheus",
        "{{ printf \"%c %d %d %d %.0f %d\" 'x' 0x1F 0o17 0755 1e3 1_000 }} {{ '\\n' }} {{ .5 }}",
        id="number-and-char-literals",
    ),
    pytest.param("prometheus", "{{-3}} {{- 3 -}}", id="minus-three-is-a-number"),
    pytest.param("prometheus", "{{ if\n  gt $value 1.0\n}}x{{ end }}", id="newlines-in-action"),
    pytest.param("prometheus", "}} and { are plain text", id="right-delims-in-text"),
    pytest.param("prometheus", '{{ print "}}" `{{` }}', id="delims-in-strings"),
    pytest.param(
        "prometheus",
        '{{ block "b" . }}{{ .Labels.job }}{{ end }}{{ template "b" . }}',
        id="block",
    ),
    pytest.param(
        "prometheus", '{{ define "a" }}{{ end }}{{ define "a" }}x{{ end }}', id="empty-redefine"
    ),
    pytest.param(
        "prometheus",
        "{{ with $labels.severity }}{{ . }}{{ else with $labels.priority }}{{ . }}{{ end }}",
        id="else-with",
    ),
    pytest.param(
        "prometheus", "{{ toDuration 90 }} {{ now | humanizeTimestamp }}", id="prometheus-3"
    ),
    pytest.param("prometheus", "", id="empty"),
    # vmalert.
    pytest.param(
        "vmalert",
        "Too high connection number for {{ $labels.instance }} for job {{ $labels.job }}: "
        "{{ $value | humanize }} ({{ $expr | queryEscape }})",
        id="vmalert-docs-annotation",
    ),
    pytest.param(
        "vmalert",
        '{{ $externalLabels.dc }} {{ $externalURL }} {{ query "up" | first | value }}'
        ' {{ pathEscape "a b" }} {{ crlfEscape "a" }} {{ quotesEscape "a" }}',
        id="vmalert-functions",
    ),
    pytest.param(
        "vmalert",
        "{{ $activeAt }} {{ $for }} {{ $alertID }} {{ $groupID }}",
        id="vmalert-recent-variables",
    ),
    pytest.param(
        "vmalert",
        '{{ $labels.job | jsonEscape }} {{ htmlEscape "<" }} {{ stripDomain "a.b:1" }} '
        '{{ parseDurationTime "1m" }} {{ toTime 1 }}',
        id="vmalert-recent-functions",
    ),
    # Alertmanager: the default notification templates and common receiver templates.
    pytest.param("alertmanager", ALERTMANAGER_SUBJECT, id="alertmanager-default-subject"),
    pytest.param("alertmanager", ALERTMANAGER_ALERT_LIST, id="alertmanager-default-alert-list"),
    pytest.param(
        "alertmanager",
        ALERTMANAGER_ALERT_LIST + ALERTMANAGER_OPSGENIE_DESCRIPTION,
        id="alertmanager-default-opsgenie",
    ),
    pytest.param(
        "alertmanager",
        "{{ range .Alerts }}*Alert:* {{ .Annotations.summary }}"
        "{{ if .Labels.severity }} - `{{ .Labels.severity }}`{{ end }}\n{{ end }}",
        id="alertmanager-slack-text",
    ),
    pytest.param(
        "alertmanager",
        "{{ .CommonLabels.alertname }} "
        "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}",
        id="alertmanager-links",
    ),
    pytest.param(
        "alertmanager",
        '{{ define "x" }}{{ range $i, $a := .Alerts }}{{ $i }} {{ $a.Labels.severity }}'
        '{{ end }}{{ stringSlice "a" "b" | join "," }}{{ end }}',
        id="alertmanager-define",
    ),
    pytest.param(
        "alertmanager",
        '{{ (index .Alerts 0).StartsAt | tz "UTC" | date "2006-01-02" }} '
        '{{ (index .Alerts 0).StartsAt | since | humanizeDuration }} {{ trimSpace " a " }} '
        '{{ safeUrl "a" }} {{ urlUnescape "a" }} {{ toJson .CommonLabels }}',
        id="alertmanager-recent-functions",
    ),
]


@pytest.mark.parametrize(("dialect", "text"), VALID)
def test_valid_templates_have_no_problems(dialect: Dialect, text: str) -> None:
    assert template_problems(text, dialect=dialect) == []


# --- Invalid templates --------------------------------------------------------------------------

INVALID = [
    # Unknown names.
    pytest.param(
        "prometheus",
        "Value is {{ humanise $value }}",
        [(12, 'function "humanise" not defined')],
        id="unknown-function",
    ),
    pytest.param(
        "prometheus",
        '{{ tmpl "x" . }}',
        [(3, 'function "tmpl" not defined')],
        id="tmpl-is-console-only",
    ),
    pytest.param(
        "vmalert",
        "{{ $labels.x | toJson }} {{ graphLink $expr }}",
        [(15, 'function "toJson" not defined'), (28, 'function "graphLink" not defined')],
        id="vmalert-lacks-functions",
    ),
    pytest.param(
        "alertmanager",
        '{{ define "x" }}{{ humanize 1 }}{{ end }}',
        [(19, 'function "humanize" not defined')],
        id="alertmanager-lacks-humanize",
    ),
    pytest.param(
        "prometheus", "{{ $foo }}", [(3, 'undefined variable "$foo"')], id="undefined-variable"
    ),
    pytest.param(
        "alertmanager",
        "{{ $labels.instance }}",
        [(3, 'undefined variable "$labels"')],
        id="alertmanager-has-no-labels-variable",
    ),
    pytest.param(
        "prometheus",
        '{{ define "x" }}{{ $labels.job }}{{ end }}',
        [(19, 'undefined variable "$labels"')],
        id="define-sees-only-dollar",
    ),
    pytest.param(
        "prometheus",
        "{{ if $x := 1 }}{{ end }}{{ $x }}",
        [(28, 'undefined variable "$x"')],
        id="variable-out-of-scope",
    ),
    pytest.param(
        "prometheus",
        "{{ $x = 1 }}",
        [(3, 'undefined variable "$x"')],
        id="assign-undeclared-variable",
    ),
    pytest.param(
        "prometheus",
        "{{ if .a }}{{ $y := 1 }}{{ else }}{{ $y }}{{ end }}",
        [(37, 'undefined variable "$y"')],
        id="variable-of-other-branch",
    ),
    # Unclosed and unterminated things.
    pytest.param(
        "prometheus",
        "{{ $labels.instance",
        [(0, "unclosed action")],
        id="unclosed-action",
    ),
    pytest.param(
        "prometheus",
        "{{ $labels.instance is down",
        [(0, "unclosed action"), (20, 'function "is" not defined')],
        id="unclosed-action-with-words",
    ),
    pytest.param(
        "prometheus",
        '{{ printf "%.2f $value }}',
        [(10, "unterminated quoted string")],
        id="unterminated-string",
    ),
    pytest.param(
        "prometheus",
        '{{ reReplaceAll `(.+):\\d+ "$1" $labels.instance }}',
        [(16, "unterminated raw quoted string")],
        id="unterminated-raw-string",
    ),
    pytest.param(
        "prometheus",
        '{{ printf "%c" \'x }}',
        [(15, "unterminated character constant")],
        id="unterminated-char",
    ),
    pytest.param(
        "prometheus",
        '{{ printf "%s" (humanize $value }}',
        [(15, "unclosed left paren")],
        id="unclosed-paren",
    ),
    pytest.param(
        "prometheus",
        "{{ humanize $value) }}",
        [(18, 'unexpected ")" in command')],
        id="unmatched-right-paren",
    ),
    pytest.param("prometheus", "{{/* comment", [(0, "unclosed comment")], id="unclosed-comment"),
    pytest.param(
        "prometheus",
        "{{/* comment */ }}",
        [(15, "comment ends before closing delimiter")],
        id="comment-needs-delimiter",
    ),
    pytest.param(
        "prometheus",
        "{{ /* comment */ }}",
        [(3, 'unexpected "/" in command')],
        id="comment-after-space",
    ),
    # Blocks.
    pytest.param(
        "prometheus",
        "{{ $labels.instance }} {{ if gt $value 80.0 }}high",
        [(23, "unexpected EOF: missing {{end}} for {{if}}")],
        id="if-without-end",
    ),
    pytest.param(
        "prometheus",
        "{{ if .a }}{{ range .b }}",
        [
            (0, "unexpected EOF: missing {{end}} for {{if}}"),
            (11, "unexpected EOF: missing {{end}} for {{range}}"),
        ],
        id="two-without-end",
    ),
    pytest.param(
        "prometheus",
        "{{ if .a }}x{{ else if .b }}y",
        [(0, "unexpected EOF: missing {{end}} for {{if}}")],
        id="else-if-without-end",
    ),
    pytest.param(
        "alertmanager",
        '{{ define "x" }}{{ range .Alerts }}',
        [
            (0, "unexpected EOF: missing {{end}} for {{define}}"),
            (16, "unexpected EOF: missing {{end}} for {{range}}"),
        ],
        id="define-without-end",
    ),
    pytest.param("prometheus", "ok{{ end }}", [(2, "unexpected {{end}}")], id="end-without-if"),
    pytest.param("prometheus", "{{ else }}", [(0, "unexpected {{else}}")], id="else-without-if"),
    pytest.param(
        "prometheus",
        "{{ if .a }}x{{ else }}y{{ else }}z{{ end }}",
        [(23, "expected end; found {{else}}")],
        id="two-elses",
    ),
    pytest.param(
        "prometheus",
        "{{ range .a }}x{{ else if .b }}y{{ end }}",
        [(23, "unexpected <if> in input")],
        id="else-if-in-range",
    ),
    pytest.param(
        "prometheus",
        "{{ with .x }}{{ else if .y }}{{ end }}",
        [(21, "unexpected <if> in input")],
        id="else-if-in-with",
    ),
    pytest.param(
        "prometheus",
        "{{ if .x }}{{ end foo }}",
        [(18, 'unexpected "foo" in end')],
        id="end-with-argument",
    ),
    pytest.param(
        "prometheus",
        '{{ range query "up" }}{{ break }}{{ end }}{{ continue }}',
        [(45, "{{continue}} outside {{range}}")],
        id="continue-outside-range",
    ),
    pytest.param(
        "prometheus",
        "{{ range . }}{{ else }}{{ break }}{{ end }}",
        [(26, "{{break}} outside {{range}}")],
        id="break-in-range-else",
    ),
    pytest.param(
        "prometheus",
        '{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}',
        [(36, 'template: multiple definition of template "x"')],
        id="template-defined-twice",
    ),
    pytest.param(
        "prometheus",
        '{{ define "x" }}a{{ else }}b{{ end }}',
        [(17, "unexpected {{else}} in define clause")],
        id="else-in-define",
    ),
    pytest.param(
        "prometheus",
        '{{ if .x }}{{ define "y" }}{{ end }}{{ end }}',
        [(14, "unexpected <define> in command")],
        id="nested-define",
    ),
    pytest.param(
        "prometheus",
        '{{ block "b" }}x{{ end }}',
        [(13, "missing value for block clause")],
        id="block-without-pipeline",
    ),
    pytest.param(
        "prometheus",
        "{{ template name }}",
        [(12, 'unexpected "name" in template clause')],
        id="template-name-not-string",
    ),
    # Pipelines and operands.
    pytest.param(
        "prometheus",
        "{{ $value | 100 }}",
        [(12, "non executable command in pipeline stage 2")],
        id="literal-in-pipeline",
    ),
    pytest.param("prometheus", "{{ if }}x{{ end }}", [(6, "missing value for if")], id="empty-if"),
    pytest.param("prometheus", "{{ }}", [(3, "missing value for command")], id="empty-action"),
    pytest.param(
        "prometheus",
        '{{ range $i, $e, $f := query "up" }}{{ end }}',
        [(15, "too many declarations in range")],
        id="three-range-variables",
    ),
    pytest.param(
        "prometheus",
        "{{ with $a, $b := . }}{{ end }}",
        [(10, "too many declarations in with")],
        id="two-with-variables",
    ),
    pytest.param(
        "prometheus",
        '{{ "abc".x }} {{ print nil.x }}',
        [(8, 'unexpected . after term "\\"abc\\""'), (26, 'unexpected . after term "nil"')],
        id="field-of-literal",
    ),
    pytest.param(
        "prometheus",
        '{{ print "a" := }}',
        [(13, 'unexpected ":=" in operand')],
        id="declare-mid-command",
    ),
    pytest.param(
        "prometheus",
        "{{ print 1 }",
        [(0, "unclosed action"), (11, 'unexpected "}" in operand')],
        id="half-closing-delimiter",
    ),
    # Lexical errors.
    pytest.param(
        "prometheus",
        "{{ $labels.foo-bar }}",
        [(14, "bad character U+002D '-'")],
        id="dash-in-label-name",
    ),
    pytest.param(
        "prometheus",
        "{{ $labels.instance\u00a0}}",
        [(19, "bad character U+00A0")],
        id="non-breaking-space",
    ),
    pytest.param(
        "prometheus",
        "{{ \u201cquoted\u201d }}",
        [(3, "unrecognized character in action: U+201C '\u201c'")],
        id="smart-quotes",
    ),
    pytest.param(
        "prometheus",
        "{{ print a:b }}",
        [(9, 'function "a" not defined'), (10, "expected :=")],
        id="colon-without-equals",
    ),
    pytest.param("prometheus", "{{ 0x1G }}", [(3, 'bad number syntax: "0x1G"')], id="bad-number"),
    pytest.param(
        "prometheus", "{{ 1e }}", [(3, 'illegal number syntax: "1e"')], id="illegal-number"
    ),
    pytest.param(
        "prometheus",
        "{{ 99999999999999999999 }}",
        [(3, 'integer overflow: "99999999999999999999"')],
        id="integer-overflow",
    ),
    pytest.param(
        "prometheus",
        "{{- print 1 -}",
        [(0, "unclosed action"), (12, 'illegal number syntax: "-"')],
        id="lone-minus",
    ),
    pytest.param(
        "prometheus", '{{ printf "\\q" }}', [(10, "invalid syntax")], id="bad-string-escape"
    ),
    pytest.param(
        "prometheus", "{{ 'ab' }}", [(3, "malformed character constant: 'ab'")], id="long-char"
    ),
    # Several problems in one template.
    pytest.param(
        "prometheus",
        '{{ humanise $value }} and {{ $foo }} and {{ "x }}',
        [
            (3, 'function "humanise" not defined'),
            (29, 'undefined variable "$foo"'),
            (44, "unterminated quoted string"),
        ],
        id="one-problem-per-action",
    ),
]


@pytest.mark.parametrize(("dialect", "text", "expected"), INVALID)
def test_invalid_templates(dialect: Dialect, text: str, expected: list[tuple[int, str]]) -> None:
    problems = template_problems(text, dialect=dialect)
    assert [(problem.offset, problem.message) for problem in problems] == expected


def test_problem_is_a_value() -> None:
    assert template_problems("{{ $foo }}") == [TemplateProblem('undefined variable "$foo"', 3)]


def test_default_dialect_is_prometheus() -> None:
    text = "{{ humanize $value }}"
    assert template_problems(text) == template_problems(text, dialect="prometheus") == []
    assert template_problems(text, dialect="alertmanager") != []


def test_deep_nesting_is_checked_without_crashing() -> None:
    nested = "{{ if . }}" * 100 + "x" + "{{ end }}" * 100
    assert template_problems(nested) == []
    long_chain = "{{ if . }}" + "{{ else if . }}" * 2000 + "{{ end }}"
    assert template_problems(long_chain) == []
    absurd = "{{ " + "(print " * 5000 + "1" + ")" * 5000 + " }}"
    assert template_problems(absurd) == [TemplateProblem("template nests too deeply to check", 0)]


# --- Function sets ------------------------------------------------------------------------------

GO_BUILTINS = {
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println",
    "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery", "call",
}  # fmt: skip


@pytest.mark.parametrize(
    "functions",
    [
        pytest.param(PROMETHEUS_FUNCTIONS, id="prometheus"),
        pytest.param(VMALERT_FUNCTIONS, id="vmalert"),
        pytest.param(ALERTMANAGER_FUNCTIONS, id="alertmanager"),
    ],
)
def test_every_dialect_has_the_go_builtins(functions: frozenset[str]) -> None:
    assert GO_BUILTINS <= functions


def test_dialects_differ_where_the_tools_do() -> None:
    assert {"query", "humanize", "graphLink", "toDuration"} <= PROMETHEUS_FUNCTIONS
    assert {"query", "jsonEscape", "quotesEscape", "htmlEscape"} <= VMALERT_FUNCTIONS
    assert {"join", "toJson", "date", "tz", "since", "safeUrl"} <= ALERTMANAGER_FUNCTIONS
    assert not {"query", "humanize"} & ALERTMANAGER_FUNCTIONS
    assert "graphLink" not in VMALERT_FUNCTIONS
    assert "tmpl" not in PROMETHEUS_FUNCTIONS


# --- Label references ---------------------------------------------------------------------------

LABELS = [
    pytest.param(
        "{{ $labels.instance }} of {{ $labels.job }}",
        [LabelReference("instance", 11), LabelReference("job", 37)],
        id="labels-variable",
    ),
    pytest.param(
        "{{ .Labels.severity }} {{ $a.Labels.team }} {{ $.Labels.env }}",
        [
            LabelReference("severity", 11),
            LabelReference("team", 36),
            LabelReference("env", 56),
        ],
        id="labels-field",
    ),
    pytest.param(
        '{{ index $labels "instance" }} {{ index .Labels `team` }}',
        [LabelReference("instance", 18), LabelReference("team", 49)],
        id="index",
    ),
    pytest.param(
        '{{ $labels.instance | toUpper }}{{ if eq $labels.severity "page" }}!{{ end }}',
        [LabelReference("instance", 11), LabelReference("severity", 49)],
        id="inside-pipelines",
    ),
    pytest.param("{{ $labels.a.b }}", [LabelReference("a", 11)], id="chain"),
    pytest.param(
        "{{ range .Labels.SortedPairs }}{{ .Name }}{{ end }}"
        "{{ .CommonLabels.Remove .GroupLabels.Names }}",
        [],
        id="alertmanager-methods",
    ),
    pytest.param(
        "$labels.x {{/* $labels.y */}} {{ $labels }} {{ index $labels .x }} "
        '{{ print "$labels.z" }}',
        [],
        id="not-references",
    ),
    pytest.param(
        "{{ humanise $labels.instance }} {{ $labels.job",
        [LabelReference("instance", 20), LabelReference("job", 43)],
        id="invalid-template",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LABELS)
def test_label_references(text: str, expected: list[LabelReference]) -> None:
    assert label_references(text) == expected
    for reference in expected:
        assert text[reference.offset :].startswith(reference.name)


# --- Properties ---------------------------------------------------------------------------------

TEMPLATE_ALPHABET = (
    "{}{}()$.|\"'`-:=,/* \n\tiflsendrgwth0123456789xeE_" + string.ascii_uppercase[:3]
)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=TEMPLATE_ALPHABET, max_size=40))
def test_any_text_gets_sorted_in_range_problems(text: str) -> None:
    for dialect in ("prometheus", "vmalert", "alertmanager"):
        problems = template_problems(text, dialect=dialect)
        assert problems == sorted(problems, key=lambda problem: (problem.offset, problem.message))
        assert all(0 <= problem.offset <= len(text) for problem in problems)
        assert all(problem.message for problem in problems)
    assert all(0 <= reference.offset < len(text) for reference in label_references(text))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_characters="{"), max_size=60))
def test_text_without_actions_is_valid(text: str) -> None:
    assert template_problems(text) == []
    assert label_references(text) == []


# --- The real tools agree -----------------------------------------------------------------------

#: Cases whose verdict the installed tools (promtool 2.42, vmalert 1.79, amtool 0.25) cannot
#: share: newer functions or syntax, or places where we are stricter than Go's parser because
#: executing that part of the template always fails.
NOT_COMPARABLE = {
    "else-with": "Go 1.23 syntax",
    "prometheus-3": "Prometheus 3.x functions",
    "vmalert-recent-functions": "newer than vmalert 1.79",
    "vmalert-recent-variables": "newer than vmalert 1.79",
    "alertmanager-recent-functions": "newer than Alertmanager 0.25",
    "assign-undeclared-variable": "Go's parser accepts it; executing it fails",
    "variable-of-other-branch": "Go's parser accepts it; executing it fails",
}


def real_verdict(dialect: str, text: str, tmp_path: Path) -> bool:
    """Whether the installed tool for ``dialect`` accepts ``text``."""
    if dialect == "alertmanager":
        (tmp_path / "t.tmpl").write_text(text, encoding="utf-8")
        config = {
            "route": {"receiver": "r"},
            "receivers": [{"name": "r"}],
            "templates": [str(tmp_path / "*.tmpl")],
        }
        path = tmp_path / "alertmanager.yml"
        path.write_text(json.dumps(config), encoding="utf-8")
        return realtools.amtool_check_config(path).returncode == 0
    rule = {"alert": "A", "expr": "up == 0", "annotations": {"description": text}}
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "g", "rules": [rule]}]}), encoding="utf-8")
    if dialect == "vmalert":
        return realtools.vmalert_dry_run(path).returncode == 0
    return realtools.promtool_check_rules(path).returncode == 0


@pytest.mark.realtools
@pytest.mark.parametrize(
    ("dialect", "text"),
    [
        pytest.param(*case.values[:2], id=case.id)
        for case in VALID + INVALID
        if case.id not in NOT_COMPARABLE
    ],
)
def test_real_tools_agree(dialect: Dialect, text: str, tmp_path: Path) -> None:
    assert real_verdict(dialect, text, tmp_path) == (not template_problems(text, dialect=dialect))
