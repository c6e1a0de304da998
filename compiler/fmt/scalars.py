"""How each scalar is written: one quoting rule, applied the same way everywhere.

- A scalar written plain stays exactly as written (so `80`, `true` and `5m` keep their
  type).
- Any other string is written plain where YAML allows it and it still reads as that
  string (to the compiler, to YAML 1.1 and to YAML 1.2 readers); a string with a
  line break as a `|` literal block; otherwise in double quotes, or in single quotes when
  it holds a `"` but no `'` (so `'alertname="Watchdog"'` needs no escapes).
- A folded (`>`) block keeps its lines as written: it exists to wrap long prose.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import yaml
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from converge.compiler import loader
from converge.compiler.fmt.tree import Scalar

_CLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML12 = VersionedResolver(version=(1, 2))
_YAML11 = yaml.resolver.Resolver()
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_STR = "tag:yaml.org,2002:str"
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_UNSAFE = frozenset(",[]{}:")
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfFyYoO=<")
_NOT_PRINTABLE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
"""Characters YAML cannot hold as they are (or reads as line breaks: NEL, LS, PS)."""
_ESCAPES = {"\0": "\\0", "\x07": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n",
            "\x0b": "\\v", "\f": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"',
            "\\": "\\\\", "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}


@dataclasses.dataclass(frozen=True, slots=True)
class Text:
    """A scalar as written: `inline` text, or a block header with its `lines`."""

    inline: str
    lines: tuple[str, ...] | None = None


def render(scalar: Scalar, *, flow: bool = False, block: bool = True) -> Text:
    """How to write `scalar`; `flow` inside `[...]`, `block` where `|` and `>` may go."""
    if scalar.style == "" and plain_syntax(scalar.value, flow=flow):
        return Text(scalar.value)
    if block and scalar.folded is not None and _folds_to(scalar.folded, scalar.value):
        return Text(scalar.folded[0], scalar.folded[1])
    return string(scalar.value, flow=flow, block=block)


def string(value: str, *, flow: bool = False, block: bool = True) -> Text:
    """The canonical way to write the string `value`."""
    if plain_syntax(value, flow=flow) and reads_as_string(value):
        return Text(value)
    if block and "\n" in value:
        literal = _literal(value)
        if literal is not None:
            return literal
    if '"' in value and "'" not in value and not _NOT_PRINTABLE.search(value):
        return Text(f"'{value}'")
    return Text(double_quoted(value))


def plain_syntax(value: str, *, flow: bool) -> bool:
    """Whether `value` can be written without quotes (whatever type it then reads as)."""
    if not value or value != value.strip() or _NOT_PRINTABLE.search(value):
        return False
    if value[0] in _INDICATORS and not (value[0] == "-" and len(value) > 1
                                        and value[1] != " "):
        return False
    if value.startswith(("---", "...")) or value.endswith(":"):
        return False
    if ": " in value or " #" in value:
        return False
    return not (flow and any(c in _FLOW_UNSAFE for c in value))


@functools.lru_cache(maxsize=4096)
def reads_as_string(value: str) -> bool:
    """Whether `value` written plain reads back as this string, not a number, boolean…"""
    if value[0] not in _MAYBE_TYPED:
        return True
    if _SEXAGESIMAL.match(value):  # 18:00 is a number to YAML 1.1; 09:00 looks like one
        return False
    if str(_YAML12.resolve(ScalarNode, value, (True, False))) != _STR:
        return False
    if _YAML11.resolve(yaml.ScalarNode, value, (True, False)) != _STR:
        return False
    loaded = loader.load("", f"k: {value}\n".encode())
    return (not loaded.diagnostics and len(loaded.documents) == 1
            and loaded.documents[0].body == {"k": value})


def double_quoted(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _NOT_PRINTABLE.match(char):
            code = ord(char)
            out.append(f"\\x{code:02X}" if code < 0x100 else
                       f"\\u{code:04X}" if code < 0x10000 else f"\\U{code:08X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _literal(value: str) -> Text | None:
    """`value` as a `|` block, unless a block cannot hold it exactly without trailing
    blanks (kept trailing line breaks, trailing spaces, a leading space)."""
    if value.endswith("\n\n") or _NOT_PRINTABLE.search(value.replace("\n", "").replace(
            "\t", "")):
        return None
    body, chomp = (value[:-1], "") if value.endswith("\n") else (value, "-")
    lines = tuple(body.split("\n"))
    content = [line for line in lines if line]
    if not content or content[0][0] in " \t" or any(line != line.rstrip() for line in lines):
        return None
    return Text("|" + chomp, lines)


@functools.lru_cache(maxsize=1024)
def _folds_to(folded: tuple[str, tuple[str, ...]], value: str) -> bool:
    header, lines = folded
    text = f"k: {header}\n" + "".join(f"  {line}\n" if line else "\n" for line in lines)
    try:
        return bool(yaml.load(text, Loader=_CLoader) == {"k": value})
    except yaml.YAMLError:
        return False
