"""Output formats for diagnostics: each returns a `str`; only the CLI prints."""

from __future__ import annotations

from converge.compiler.formats import github, human, json_format, sarif

FORMATTERS = {
    "human": human.render,
    "json": json_format.render,
    "github": github.render,
    "sarif": sarif.render,
}

__all__ = ["FORMATTERS", "github", "human", "json_format", "sarif"]
