"""One counter update of `DocumentStore.increment`, and the checks and arithmetic every adapter shares.

An increment call carries several updates of ONE partition, applied all-or-nothing: a completion adds to the
tenant's totals and to its day document together, so the metrics never count half of it. The checks run before
anything is written, so a malformed update fails the call without touching the store.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

# Field names go into Cosmos patch paths and SQL-like predicates: identifiers only. Names the documents
# themselves need (their id, owner and type, the system fields, the adapters' markers) are never counters.
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_FIELDS = frozenset({"id", "type", "tenantId", "userId", "schemaVersion", "lastIncrementId"})


@dataclass(frozen=True)
class CounterUpdate:
    doc_id: str
    deltas: Mapping[str, float]
    base: Mapping[str, Any]  # the document's fields when this update creates it (owner fields included)

    def __post_init__(self) -> None:
        if not isinstance(self.doc_id, str) or not self.doc_id:
            raise ValueError("a counter document id must be a non-empty string")
        for name, value in self.deltas.items():
            if not isinstance(name, str) or not _FIELD.match(name) or name in RESERVED_FIELDS:
                raise ValueError(f"unsupported counter field name {name!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"counter field {name!r} needs a finite number")


def checked(updates: Sequence[CounterUpdate]) -> list[CounterUpdate]:
    """The updates of one call; one per document, so an adapter can apply each as one write."""
    seen: set[str] = set()
    for update in updates:
        if not isinstance(update, CounterUpdate):
            raise TypeError("increment takes CounterUpdate values")
        if update.doc_id in seen:
            raise ValueError(f"two updates of counter document {update.doc_id!r} in one call: merge their deltas")
        seen.add(update.doc_id)
    return list(updates)


def added(doc: dict, deltas: Mapping[str, float]) -> dict:
    """`doc` with `deltas` added in place (missing fields start at 0); a stored non-number is a ValueError."""
    for name, delta in deltas.items():
        current = doc.get(name, 0)
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ValueError(f"counter field {name!r} holds a non-number")
        doc[name] = current + delta
    return doc
