"""The fast path agrees with the full Go template parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converge.compiler import gotemplate, templatecheck

CASES = [
    "{{ $labels.instance }} is down",
    "{{ $value | humanizePercentage }} of {{ $labels.job }}",
    "{{- $labels.instance -}}",
    "{{$value}}",
    "{{ $value | humanise }}",
    "{{ $labels.instance }} {{ if gt $value 1.0 }}x{{ end }}",
    "{{ $externalURL }}/graph",
    "{{ $labels }}",
    "{{ $value.foo }}",
    "{{-$value}}",
    "{{ $value-}}",
    "{{ $expr }}",
    "{{ $labels.instance | toTime }}",
    "plain text }} {",
    '{{ printf "%.2f" $value }} cores on {{ $labels.instance }}',
    '{{ $value | printf "%.0f" }} behind',
    "ago{{ if gt $value 172800.0 }}: more than two days{{ end }}.",
    "{{ if lt $value 1 }}low{{ else }}high{{ end }}",
    "{{ else }}",
    "{{ if gt $value 2 }}a{{ else }}b{{ else }}c{{ end }}",
    "{{ if gt $value 1 }}open",
    '{{ printf "%s" $labels.job }}',
    '{{ $value | humanize "x" }}',
    '{{ printf "{{" $value }}',
    "{{ humanize $value }} and {{ toUpper $labels.job }}",
    "{{ nosuch $value }}",
    "{{ range $value }}x{{ end }}",
    "{{ with $labels.pod }}pod {{ . }}{{ else }}none{{ end }}",
    "{{ with $labels.pod }}{{ . | toUpper }}{{ end }}",
    "{{ with $labels.pod }}open",
    "{{ if $labels.pod }}a{{ end }}{{ end }}",
    "{{ . }}",
    "{{ .Labels.job }}",
    "line one\n{{ with $externalLabels.cluster }}Cluster: {{ . }}.{{ end }}\n"
    "{{ if gt $value 0.0 }} (above zero){{ end }}\nZone: {{ $labels.zone }}.",
]
pieces = st.sampled_from(["{{", "}}", " ", "-", "$labels", ".instance", "$value", "|",
                          "humanize", "now", "toTime", "$expr", "x", "{{ $value }}",
                          "{{ $labels.job }}", "{{- ", " -}}", "if", " gt ", "1.5", "else",
                          "end", "printf", '"%.1f"', "{{ end }}", "{{ else }}",
                          "{{ if gt $value 2 }}", "with", "{{ with $labels.pod }}", ".",
                          "{{ . }}", "{{ humanize $value }}", "{{ if $value }}", "\n",
                          "range", "{{ $externalLabels.cluster }}"])


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("dialect", ["prometheus", "vmalert"])
def test_fast_path_agrees_with_the_parser(text: str, dialect: str) -> None:
    slow = gotemplate.template_problems(text, dialect=dialect)  # type: ignore[arg-type]
    assert list(templatecheck.problems(text, dialect)) == slow
    if not slow:
        assert list(templatecheck.label_references(text)) == gotemplate.label_references(text)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(pieces, max_size=12), dialect=st.sampled_from(["prometheus", "vmalert"]),
       unavailable=st.sampled_from([frozenset(), frozenset({"toTime", "$expr"})]))
def test_fast_path_agrees_on_generated_text(parts: list[str], dialect: str,
                                           unavailable: frozenset[str]) -> None:
    text = "".join(parts)
    slow = gotemplate.template_problems(text, dialect=dialect,  # type: ignore[arg-type]
                                        unavailable=unavailable)
    assert list(templatecheck.problems(text, dialect, unavailable)) == slow
    if not slow:
        assert list(templatecheck.label_references(text)) == gotemplate.label_references(text)
