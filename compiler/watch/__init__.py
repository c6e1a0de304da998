"""`converge watch`: recompile on every change, keeping the last good bundle.

`debounce` decides which events matter and when a save has settled, `build` compiles
and writes only a good bundle, `cli` wires watchdog to them.
"""

from converge.compiler.watch.build import Plan, plan, rebuild
from converge.compiler.watch.debounce import Debouncer, relevant

__all__ = ["Debouncer", "Plan", "plan", "rebuild", "relevant"]
