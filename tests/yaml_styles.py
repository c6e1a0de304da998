"""Write values as YAML in odd but valid styles, with comments everywhere, for fmt's tests.

Every choice is drawn from Hypothesis: block or flow collections, 1 to 4 spaces of
indentation, indentless sequences, plain, quoted, literal and folded scalars (PyYAML's
emitter writes each, so each is valid), `---` markers, blank lines and comments above
entries, at the end of lines and after the last entry. Each comment is unique
(`# c7`), so a test can check that formatting kept every one.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import yaml
from hypothesis import strategies as st

from converge.compiler import loader

_STYLES = (None, None, "'", '"', "|", ">")
_WIDE = 10**9


@dataclasses.dataclass
class Writer:
    """Draws the style of each node from `data`; records the comments it writes."""

    data: st.DataObject
    comments: list[str] = dataclasses.field(default_factory=list)

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def file(self, documents: list[Any]) -> str:
        lines: list[str] = self._head(0)
        for index, document in enumerate(documents):
            if index or self.draw(st.booleans()):
                lines.append("---" + self._eol())
            lines.extend(self._head(0))
            if _nonempty(document):
                lines.extend(self._block(document, 0))
            else:
                lines.append(self._flow(document))
        lines.extend(self._head(0))
        return "\n".join(lines) + "\n"

    def _comment(self) -> str:
        text = f"# c{len(self.comments)}"
        self.comments.append(text)
        return text

    def _eol(self) -> str:
        if not self.draw(st.integers(0, 3)) == 0:
            return ""
        return " " * self.draw(st.integers(1, 4)) + self._comment()

    def _head(self, indent: int) -> list[str]:
        """Blank lines and comments at any column up to `indent` (a deeper one could be
        read as part of the block scalar above)."""
        lines = []
        for _ in range(self.draw(st.integers(0, 2))):
            if self.draw(st.booleans()):
                lines.append("")
            else:
                lines.append(" " * self.draw(st.integers(0, indent)) + self._comment())
        return lines

    def _block(self, value: Any, indent: int, *, bare_first: bool = False) -> list[str]:
        lines: list[str] = []
        pairs = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
        for position, (key, item) in enumerate(pairs):
            if not (bare_first and position == 0):
                lines.extend(self._head(indent))
            prefix = " " * indent + (self._key(key) + ":" if key is not None else "-")
            lines.extend(self._entry(prefix, item, indent, item=key is None))
        return lines

    def _entry(self, prefix: str, value: Any, indent: int, *, item: bool) -> list[str]:
        if _nonempty(value) and not (_flowable(value) and self.draw(st.booleans())):
            if item and self.draw(st.booleans()):  # `- key: value` on the dash's line
                inner = self._block(value, indent + 2, bare_first=True)
                return [prefix + " " + inner[0].lstrip(" "), *inner[1:]]
            if not item and isinstance(value, list) and self.draw(st.booleans()):
                step = 0  # an indentless sequence: dashes under the key
            else:
                step = self.draw(st.integers(1, 4))
            return [prefix + self._eol(), *self._block(value, indent + step)]
        if _nonempty(value) or isinstance(value, (dict, list)):
            return [prefix + " " + self._flow(value) + self._eol()]
        first, rest = self._scalar(value)
        step = self.draw(st.integers(1, 4))
        lines = [prefix + " " + first,
                 *(" " * (indent + step) + line if line else "" for line in rest)]
        at = 0 if re.search(r"(^|\s)[|>][-+]?$", first) else -1  # not in a quoted scalar
        lines[at] += self._eol()
        return lines

    def _key(self, key: Any) -> str:
        style = self.draw(st.sampled_from((None, None, "'", '"')))
        text: str = yaml.safe_dump([key], default_flow_style=True, default_style=style,
                                   width=_WIDE, allow_unicode=True)
        return text.strip()[1:-1]

    def _scalar(self, value: Any) -> tuple[str, list[str]]:
        style = self.draw(st.sampled_from(_STYLES))
        text: str = yaml.safe_dump([value], default_flow_style=False, default_style=style,
                                   width=_WIDE, allow_unicode=self.draw(st.booleans()))
        if not _reads_back(text, [value]):  # a raw NEL, or `1e3` (a float to converge)
            text = yaml.safe_dump([value], default_flow_style=False, default_style='"',
                                  width=_WIDE)
        lines = text.removesuffix("\n").split("\n")
        first = lines[0][2:]
        if re.search(r"[|>][-+]?[0-9]", first):  # an explicit indentation: keep it simple
            return self._flow(value), []
        return first, [line[2:] for line in lines[1:]]

    def _flow(self, value: Any) -> str:
        style = self.draw(st.sampled_from((None, None, "'", '"')))
        text: str = yaml.safe_dump(value, default_flow_style=True, default_style=style,
                                   width=_WIDE, allow_unicode=self.draw(st.booleans()))
        text = text.removesuffix("\n").removesuffix("\n...").strip()
        if "\n" in text or not _reads_back(text, value):  # keep it on one line
            text = yaml.safe_dump(value, default_flow_style=True, default_style='"',
                                  width=_WIDE).removesuffix("\n").removesuffix("\n...")
        return text


def _reads_back(text: str, value: Any) -> bool:
    """Whether converge reads `text` as `value` (PyYAML's YAML 1.1 differs: `1e3`)."""
    loaded = loader.load("x.yaml", text.encode("utf-8"))
    body = loaded.documents[0].body if loaded.documents else None
    return not loaded.diagnostics and repr(body) == repr(value)  # NaN is NaN, 1 is not True


def _nonempty(value: Any) -> bool:
    return isinstance(value, (dict, list)) and bool(value)


def _flowable(value: Any) -> bool:
    return all(not isinstance(v, (dict, list)) or _flowable(v)
               for v in (value.values() if isinstance(value, dict) else value))
