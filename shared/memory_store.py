"""DocumentStore in memory: the fake for fast unit tests (leases, heartbeats, failure marking with an injected
clock). It passes the same contract suite as the embedded and Cosmos adapters (tests/contract/test_ports.py).

Documents are copied on the way in and out, as a real store serialises them, so a caller that mutates what it
got back changes nothing stored. Every operation completes without awaiting, so each is atomic on the event
loop, as a transaction is. `calls` counts the operations per name (what a test may assert a flow cost).
"""
from __future__ import annotations

import copy
import uuid
from collections import Counter
from typing import Any, Mapping, Sequence

from shared import counter_updates
from shared.counter_updates import CounterUpdate
from shared.ports import Conflict, NotFound, PartitionKey, PreconditionFailed


def _owned(pk: PartitionKey, doc: Mapping[str, Any]) -> dict:
    if (doc.get("tenantId"), doc.get("userId")) != tuple(pk):
        raise ValueError("document owner fields do not match the target partition")
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        raise ValueError("document id must be a non-empty string")
    return {k: copy.deepcopy(v) for k, v in doc.items() if k != "_etag"}


def _field(name: str) -> str:
    if not name.isidentifier():
        raise ValueError("field names must be identifiers")
    return name


class MemoryDocumentStore:
    def __init__(self) -> None:
        self._docs: dict[tuple[str, str, str], tuple[dict, str]] = {}  # (tenant, user, id) → (body, etag)
        self.calls: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings) -> "MemoryDocumentStore":
        return cls()

    def _put(self, pk: PartitionKey, body: dict) -> dict:
        etag = uuid.uuid4().hex
        self._docs[(*pk, body["id"])] = (body, etag)
        return self._out(body, etag)

    @staticmethod
    def _out(body: dict, etag: str) -> dict:
        return {**copy.deepcopy(body), "_etag": etag}

    def _partition(self, pk: PartitionKey, types: Sequence[str] | None) -> list[tuple[dict, str]]:
        return [(b, e) for (t, u, _), (b, e) in self._docs.items()
                if (t, u) == tuple(pk) and (types is None or b.get("type") in types)]

    async def read(self, pk: PartitionKey, doc_id: str) -> dict | None:
        self.calls["read"] += 1
        found = self._docs.get((*pk, doc_id))
        return self._out(*found) if found else None

    async def create(self, pk: PartitionKey, doc: Mapping[str, Any]) -> dict:
        self.calls["create"] += 1
        body = _owned(pk, doc)
        if (*pk, body["id"]) in self._docs:
            raise Conflict("a document with this id already exists in the partition")
        return self._put(pk, body)

    async def replace(self, pk: PartitionKey, doc: Mapping[str, Any], etag: str) -> dict:
        self.calls["replace"] += 1
        body = _owned(pk, doc)
        found = self._docs.get((*pk, body["id"]))
        if found is None:
            raise NotFound("no document with this id in the partition")
        if found[1] != etag:
            raise PreconditionFailed("the document changed since it was read")
        return self._put(pk, body)

    async def write_set(self, pk: PartitionKey, upserts: Sequence[Mapping[str, Any]],
                        deletes: Sequence[str] = ()) -> None:
        self.calls["write_set"] += 1
        bodies = [_owned(pk, d) for d in upserts]  # validate everything before writing anything
        for body in bodies:
            self._put(pk, body)
        for doc_id in deletes:
            self._docs.pop((*pk, doc_id), None)

    async def list_partition(self, pk: PartitionKey, types: Sequence[str] | None = None) -> list[dict]:
        self.calls["list_partition"] += 1
        return [self._out(b, e) for b, e in self._partition(pk, types)]

    async def list_ids(self, pk: PartitionKey, types: Sequence[str]) -> list[str]:
        self.calls["list_ids"] += 1
        return [b["id"] for b, _ in self._partition(pk, types)]

    async def find(self, doc_type: str, *, tenant_id: str | None = None,
                   where: Mapping[str, Any] | None = None, greater_than: tuple[str, Any] | None = None,
                   order_by: str | None = None, limit: int | None = None) -> list[dict]:
        self.calls["find"] += 1
        conditions = {_field(k): v for k, v in (where or {}).items()}
        found = []
        for (t, _, _), (body, etag) in self._docs.items():
            if body.get("type") != doc_type or (tenant_id is not None and t != tenant_id):
                continue
            if any(body.get(k) != v for k, v in conditions.items()):  # None matches a missing field, as IS NULL
                continue
            if greater_than is not None:
                value = body.get(_field(greater_than[0]))
                if value is None or type(value) is not type(greater_than[1]) or not value > greater_than[1]:
                    continue
            found.append((body, etag))
        if order_by:
            key = _field(order_by)
            found.sort(key=lambda be: (be[0].get(key) is not None, be[0].get(key) if be[0].get(key) is not None
                                       else 0))
        if limit is not None:
            found = found[:max(0, int(limit))]
        return [self._out(b, e) for b, e in found]

    async def count(self, pk: PartitionKey, types: Sequence[str]) -> dict[str, int]:
        self.calls["count"] += 1
        counts = Counter(b.get("type") for b, _ in self._partition(pk, types))
        return {t: counts.get(t, 0) for t in types}

    async def increment(self, pk: PartitionKey, updates: Sequence[CounterUpdate]) -> None:
        self.calls["increment"] += 1
        staged = []  # every update computed before any is stored: all or nothing
        for update in counter_updates.checked(updates):
            found = self._docs.get((*pk, update.doc_id))
            body = copy.deepcopy(found[0]) if found else _owned(pk, {**update.base, "id": update.doc_id})
            staged.append(counter_updates.added(body, update.deltas))
        for body in staged:
            self._put(pk, body)

    async def health(self) -> None:
        return None

    async def close(self) -> None:
        return None
