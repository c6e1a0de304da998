"""`converge diff`: what a change does to the rendered configs and to alert routing.

`sides.compile_pair` compiles both sides in memory, `model.compute` turns two compiled
sides into a `BundleDiff`, and `markdown`, `text` and `json_format` print it. Reading the
sides (Git objects or the work tree) is `converge.compiler.gitsource`'s job; printing, the CLI's.
"""

from __future__ import annotations

from converge.compiler.diff import json_format, markdown, text
from converge.compiler.diff.model import BundleDiff, Side, compute
from converge.compiler.diff.report import Context, Failure, Revision
from converge.compiler.diff.sides import Compiled, compile_pair

__all__ = ["BundleDiff", "Compiled", "Context", "Failure", "Revision", "Side", "compile_pair",
           "compute", "json_format", "markdown", "text"]
