"""Which alert labels a template reads, for comparison with the labels a rule produces.

Walks the lexer's tokens rather than the parse, so that a template with syntax errors still
yields the references in its well-formed parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from converge.compiler.gotemplate.lexer import _Lexer
from converge.compiler.gotemplate.literals import _go_unquote
from converge.compiler.gotemplate.scanner import _Kind, _Token


@dataclass(frozen=True, slots=True)
class LabelReference:
    """An alert label a template reads; ``offset`` is where the label's name starts."""

    name: str
    offset: int


#: Methods of Alertmanager's label maps: ``.Labels.SortedPairs`` is a call, not a label.
_KV_METHODS: Final = frozenset({"SortedPairs", "Remove", "Names", "Values", "String"})


def label_references(text: str) -> list[LabelReference]:
    """List the alert labels ``text`` reads, with where each name is.

    Finds ``$labels.NAME``, ``.Labels.NAME``, ``index $labels "NAME"`` and
    ``index .Labels "NAME"``. Text outside actions and comments is ignored, and a
    template with syntax errors yields the references found in its well-formed parts.

    Args:
        text: The template.

    Returns:
        One reference per occurrence, sorted by offset.
    """
    tokens = _Lexer(text).run()
    references: list[LabelReference] = []
    for index, token in enumerate(tokens):
        if _is_labels(token):
            following = tokens[index + 1]
            name = following.value[1:]
            if following.kind is _Kind.FIELD and name not in _KV_METHODS:
                references.append(LabelReference(name, following.offset + 1))
        elif token.kind is _Kind.IDENTIFIER and token.value == "index":
            reference = _index_reference(tokens, index + 1)
            if reference is not None:
                references.append(reference)
    return sorted(references, key=lambda reference: reference.offset)


def _is_labels(token: _Token) -> bool:
    return (token.kind is _Kind.VARIABLE and token.value == "$labels") or (
        token.kind is _Kind.FIELD and token.value == ".Labels"
    )


def _index_reference(tokens: list[_Token], start: int) -> LabelReference | None:
    """The label in ``index $labels "NAME"``, given the position after ``index``."""
    position = _skip_space_tokens(tokens, start)
    if not _is_labels(tokens[position]) or tokens[position + 1].kind is not _Kind.SPACE:
        return None
    literal = tokens[_skip_space_tokens(tokens, position + 1)]
    if literal.kind not in (_Kind.STRING, _Kind.RAW_STRING):
        return None
    name = _go_unquote(literal.value)
    return None if name is None else LabelReference(name, literal.offset + 1)


def _skip_space_tokens(tokens: list[_Token], position: int) -> int:
    while tokens[position].kind is _Kind.SPACE:
        position += 1
    return position
