"""PromQL checks that need a real parser: where a parse error is, and which labels survive.

`promql_parser` (Rust, the grammar of Prometheus) says *what* is wrong with an expression
but never *where*, and a check that cannot point at the bad token is half a check. This
package finds the offset itself: a small tokenizer (`tokens`) places the structural errors
(brackets, strings, durations, stray characters; `locators`); a search over token prefixes
(`locate`) places the rest, and in particular the parser's bare "invalid promql query", at
the first token after which no completion of the expression parses.

vmalert evaluates MetricsQL, a superset of PromQL; the `metricsql` dialect (`metricsql`)
accepts its functions by registering them with the parser for the one parse that needs
them (the registry is process-global, so Prometheus parses never see them; every parse
holds the one `_LOCK`).

`output_labels` (`labels`, `relabel`) answers which labels an expression's result series
can carry, so that an alert annotation using `$labels.x` after `sum by (y) (...)` can be
flagged before it renders empty.

Everything here is pure: strings in, values out.
"""

from __future__ import annotations

from converge.compiler.promql.labels import analyze as analyze
from converge.compiler.promql.labels import output_labels
from converge.compiler.promql.metricsql import _LOCK as _LOCK
from converge.compiler.promql.metricsql import METRICSQL_FUNCTIONS
from converge.compiler.promql.problems import parse_problem
from converge.compiler.promql.values import LabelSet, ParseProblem

__all__ = [
    "LabelSet",
    "METRICSQL_FUNCTIONS",
    "ParseProblem",
    "output_labels",
    "parse_problem",
]
