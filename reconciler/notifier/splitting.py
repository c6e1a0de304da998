"""Cut long messages at a vendor's size limit without breaking a character.

Vendors limit messages in bytes (DingTalk 20,000 bytes of request body, WeCom 4,096 bytes of
markdown and 2,048 of text) and reject anything longer. `split` cuts text into parts that
each fit, preferring line breaks, then spaces, then any character boundary: Python strings
are sequences of code points, so a cut never lands inside a multi-byte UTF-8 sequence.
Joining the parts gives the text back. `truncate` keeps the head and appends a marker, for
the rare text where more parts make no sense (a title, a message past `max_parts`).

Sizes are measured by a `Size` function that must be additive (the size of a + b is the
size of a plus the size of b), such as the UTF-8 length or the length inside a JSON string.
"""

from __future__ import annotations

import json
from collections.abc import Callable

Size = Callable[[str], int]

MARKER = "\n…(truncated)"


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8."""
    return len(text.encode("utf-8"))


def json_size(text: str) -> int:
    """Bytes of `text` inside a JSON string written with `ensure_ascii=False`."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def fitting_prefix(text: str, limit: int, size: Size = utf8_size) -> int:
    """The length of the longest prefix of `text` whose size is at most `limit`."""
    if size(text) <= limit:
        return len(text)
    low, high = 0, len(text)  # size(text[:low]) <= limit < size(text[:high])
    while high - low > 1:
        middle = (low + high) // 2
        if size(text[:middle]) <= limit:
            low = middle
        else:
            high = middle
    return low


def _cut(text: str, limit: int, size: Size) -> int:
    """Where to end the next part: after a line break or space in the fitting prefix's
    second half if there is one, else at the last fitting character."""
    end = fitting_prefix(text, limit, size)
    if end == 0:
        raise ValueError(f"limit {limit} is smaller than the character {text[0]!r}")
    for separator in ("\n", " "):
        found = text.rfind(separator, 0, end)
        if found >= end // 2:
            return found + 1
    return end


def split(text: str, limit: int, *, size: Size = utf8_size, max_parts: int | None = None,
          marker: str = MARKER) -> list[str]:
    """Parts of `text`, each of size at most `limit`; `"".join(parts) == text` unless
    there would be more than `max_parts`, when the last part is truncated with `marker`.

    Raises:
        ValueError: `limit` is below one character of the text (or below the marker).
    """
    parts: list[str] = []
    rest = text
    while size(rest) > limit:
        if max_parts is not None and len(parts) == max_parts - 1:
            return [*parts, truncate(rest, limit, size=size, marker=marker)]
        end = _cut(rest, limit, size)
        parts.append(rest[:end])
        rest = rest[end:]
    parts.append(rest)
    return parts


def truncate(text: str, limit: int, *, size: Size = utf8_size, marker: str = MARKER) -> str:
    """`text` if it fits in `limit`, else its longest fitting head followed by `marker`.

    Raises:
        ValueError: the marker alone does not fit.
    """
    if size(text) <= limit:
        return text
    room = limit - size(marker)
    if room < 0:
        raise ValueError(f"limit {limit} is smaller than the marker {marker!r}")
    return text[:fitting_prefix(text, room, size)] + marker
