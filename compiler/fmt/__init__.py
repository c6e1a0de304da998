"""`converge fmt`: spec files in one canonical style, keeping every comment.

Canonical: `apiVersion, kind, metadata, spec` first and every kind's keys in the order
its model declares them (`order`); two-space indentation with sequences indented under
their key, block style, one quoting rule (`scalars`); comments and blank lines stay with
the entries they belong to (`comments`). Formatting twice changes nothing more, and the
result reads as exactly the same values (checked on every call).
"""

from converge.compiler.fmt.formatter import FormatError, MeaningChanged, format_text, same

__all__ = ["FormatError", "MeaningChanged", "format_text", "same"]
