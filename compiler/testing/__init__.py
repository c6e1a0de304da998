"""`converge test`: routing assertions and rule unit tests written in the specs.

Pure parts: `routing` evaluates routing assertions on the compiled model, `rules` renders
rule test cases as promtool test files, `promtool_output` pins promtool's failures on the
cases, `series` parses promtool's series notations (for checks), `report` formats the
results. I/O parts: `promtool` (finds and runs it) and `cli` (the command).
"""

from __future__ import annotations

from converge.compiler.testing.results import ROUTING_FAILED, RULE_FAILED, Failure, Result

__all__ = ["ROUTING_FAILED", "RULE_FAILED", "Failure", "Result"]
