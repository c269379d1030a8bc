"""Nesting depth of parsed JSON, checked without recursion (a depth bomb cannot blow the stack)."""
from __future__ import annotations

from typing import Any, Iterable


def deeper_than(value: Any, limit: int) -> bool:
    """True if containers nest more than `limit` levels (a scalar is depth 0, `[]` depth 1)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        children: Iterable[Any]
        if isinstance(v, dict):
            children = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if d > limit:
            return True
        kinds = set(map(type, children))  # C speed: most containers (chat messages) hold scalars only
        if dict in kinds or list in kinds:
            stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return False
