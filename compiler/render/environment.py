"""The Jinja2 environment every target's templates render in.

Undefined names are errors (StrictUndefined), and an expression's output must be
`YamlText` — produced by the `q` (quote) and `block` filters, or `ident` for the
renderer's own identifiers — so no spec value reaches YAML unescaped.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2

from converge.compiler.render.yamlsafe import YamlText, block, quote

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(value: str) -> YamlText:
    """One of the renderer's own keys (never spec text): a bare YAML identifier; or a key
    from a spec the renderer already quoted (an email header name)."""
    if isinstance(value, YamlText):
        return value
    if not _IDENT.match(value):
        raise ValueError(f"not an identifier: {value!r}")
    return YamlText(value)


_UNPRINTABLE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What a YAML reader refuses even inside a comment (control characters, U+FFFE, U+FFFF)."""


def _comment(value: str) -> YamlText:
    """Text for a `#` comment: one line, nothing that could end the comment or that a YAML
    reader refuses."""
    return YamlText(_UNPRINTABLE.sub("\ufffd", " ".join(str(value).split())))


def _nested(value: str) -> YamlText:
    """Text made by this template's own macros, whose every value was already quoted."""
    return YamlText(value)


def _trim_first(value: str, indent: int) -> YamlText:
    """Put a nested block's first line on the line of the `-` that introduces it."""
    prefix = "\n" + " " * indent
    if not value.startswith(prefix):
        raise ValueError(f"nested block does not start with {prefix!r}: {value[:40]!r}")
    return YamlText(" " + value[len(prefix):])


def _spaces(count: int) -> YamlText:
    """Indentation."""
    return YamlText(" " * int(count))


def _finalize(value: Any) -> Any:
    if isinstance(value, YamlText):
        return value
    raise TypeError(f"template output {value!r} did not pass through q, block or ident")


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment, loading templates from the `templates` package."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("converge.templates", ""),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
        auto_reload=False,  # package data does not change while we run: no stat per render
    )
    env.filters.update(q=quote, block=block, ident=_ident, comment=_comment, nested=_nested,
                       trim_first=_trim_first, spaces=_spaces)
    return env


def render(name: str, **context: Any) -> str:
    """Render one template with the given context."""
    return environment().get_template(name).render(**context)
