"""The checks over the whole compiled model: one module per diagnostic code.

Each module has `CODE`, `SEVERITY`, `SUMMARY` and `check(model, ctx)`, a pure generator
of diagnostics; its docstring is what `converge check --explain CODE` prints. The
registry is explicit: a module is a check because it is listed here.
"""

from __future__ import annotations

from types import ModuleType

from converge.compiler.checks import (
    alerts_comparison,
    alerts_duplicate,
    alerts_external_labels,
    alerts_for,
    alerts_policy,
    channel_template,
    channel_unused,
    duration_invalid,
    healing_empty_selector,
    healing_exec_unlabelled,
    healing_kubernetes_differs,
    inhibit_unknown_label,
    label_invalid_name,
    matcher_syntax,
    name_duplicate,
    pool_keda_differs,
    pool_replica_range,
    promql_counter,
    promql_fragile,
    promql_regexp,
    promql_syntax,
    promql_vector_matching,
    ref_unresolved,
    route_invalid,
    route_namespace_matcher,
    route_unrouted_alert,
    rule_duplicate,
    secret_literal,
    secret_placeholder_misplaced,
    target_empty,
    target_kubernetes_incomplete,
    target_field_dropped,
    target_unsupported,
    template_syntax,
    template_undefined,
    template_unknown_label,
    tests_invalid_series,
    tests_needs_prometheus,
    tests_unknown_alert,
    threshold_unused_placeholder,
)

CHECKS: tuple[ModuleType, ...] = (
    name_duplicate,
    ref_unresolved,
    promql_syntax,
    threshold_unused_placeholder,
    template_syntax,
    channel_template,
    template_undefined,
    template_unknown_label,
    target_unsupported,
    target_field_dropped,
    target_empty,
    target_kubernetes_incomplete,
    matcher_syntax,
    route_invalid,
    route_unrouted_alert,
    route_namespace_matcher,
    inhibit_unknown_label,
    channel_unused,
    label_invalid_name,
    duration_invalid,
    secret_literal,
    secret_placeholder_misplaced,
    pool_replica_range,
    pool_keda_differs,
    healing_empty_selector,
    healing_exec_unlabelled,
    healing_kubernetes_differs,
    tests_needs_prometheus,
    tests_unknown_alert,
    tests_invalid_series,
    # lint: the pint-class checks (issue 20)
    alerts_comparison,
    alerts_for,
    alerts_duplicate,
    alerts_external_labels,
    rule_duplicate,
    promql_fragile,
    promql_regexp,
    promql_counter,
    promql_vector_matching,
    alerts_policy,
)

__all__ = ["CHECKS"]
