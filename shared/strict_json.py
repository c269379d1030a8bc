"""JSON as strict as the browser's own text: an object with a duplicate key is refused. Pure, no I/O.

JSON.parse keeps the last of two equal keys, but the text still holds the first, so such a value is not what it
seems (`{"token":"S","token":""}`): the HTTP body parser answers DUPLICATE_KEY, the planner keeps the value as text.
"""
from __future__ import annotations

from typing import Any


class DuplicateKey(ValueError):
    pass


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    """`object_pairs_hook` for json.loads: a dict, or DuplicateKey."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise DuplicateKey()
    return out
