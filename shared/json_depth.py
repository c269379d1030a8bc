"""Nesting depth of parsed JSON, checked without recursion (a depth bomb cannot blow the stack)."""
from __future__ import annotations

from itertools import chain
from typing import Any

_CONTAINERS = (dict, list)


def deeper_than(value: Any, limit: int) -> bool:
    """True if containers nest more than `limit` levels (a scalar is depth 0, `[]` depth 1).

    Level by level: each level's children are gathered and their types checked at C speed, so a wide value of
    flat items (a chat session's messages) costs a few C passes instead of a Python step per item."""
    level: list[Any] = [value] if isinstance(value, _CONTAINERS) else []
    depth = 1
    while level:
        if depth > limit:
            return True
        kinds = set(map(type, level))
        if kinds == {dict}:  # a session's messages: their values at C speed, no Python step per message
            children = list(chain.from_iterable(map(dict.values, level)))
        elif kinds == {list}:
            children = list(chain.from_iterable(level))
        else:
            children = list(chain.from_iterable(v.values() if isinstance(v, dict) else v for v in level))
        if not any(issubclass(kind, _CONTAINERS) for kind in set(map(type, children))):
            return False
        level = [c for c in children if isinstance(c, _CONTAINERS)]
        depth += 1
    return False
