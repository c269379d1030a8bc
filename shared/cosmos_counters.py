"""`DocumentStore.increment` on Cosmos DB: every update of one call in ONE transactional batch, exactly once.

Why it is built this way:
- All-or-nothing: the updates share a partition (a completion's totals and day documents), so one
  `execute_item_batch` applies them together; Cosmos rolls the whole batch back when one operation fails.
- Narrow updates (fewer fields than a patch takes, the marker included) are a conditional patch of `incr`
  operations; wider ones are a replace conditioned on the etag read just before (a lost race reads again).
- Exactly once: every document the batch writes gets this call's unique marker (`OP_MARK`), and each patch is
  conditioned on the marker not being there yet. A re-send whose first answer was lost (the SDK's or our
  retry) then fails with 412, and finding our marker on the document proves the whole batch landed.
- The SDK pops per-operation options (`filter_predicate`) out of the operation tuples while it formats them,
  so a re-sent list would go without its condition: the operations are rebuilt for every send.
- A missing document fails its patch (404): it is created from its base alone, without any count (a lost
  create race is harmless: the winner's document is as good), and the batch is sent again.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any, Awaitable, Callable, Mapping, Sequence

from azure.cosmos import exceptions as cx
from azure.cosmos.aio import ContainerProxy

from shared import counter_updates
from shared.azure_common import scrubbed
from shared.counter_updates import CounterUpdate
from shared.ports import PartitionKey, StoreError

# Id of the last increment applied to a counter document; internal, never returned.
OP_MARK = "lastIncrementId"
PATCH_LIMIT = 10  # Cosmos refuses a patch with more operations
RACES = 12  # lost etag races (or documents created under us) an increment retries before giving up
SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", OP_MARK)

Container = Callable[[], Awaitable[ContainerProxy]]
Call = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]
ReadRaw = Callable[[PartitionKey, str], Awaitable[dict | None]]
Body = Callable[[PartitionKey, Mapping[str, Any]], dict]


class CosmosCounters:
    """The store's plumbing is passed in (container, retrying call, raw read, body check)."""

    def __init__(self, container: Container, call: Call, read_raw: ReadRaw, body: Body):
        self._container, self._call, self._read_raw, self._body = container, call, read_raw, body

    async def increment(self, pk: PartitionKey, updates: Sequence[CounterUpdate]) -> None:
        checked = counter_updates.checked(updates)
        bases = {u.doc_id: self._body(pk, {**u.base, "id": u.doc_id}) for u in checked}  # all checked first
        if not checked:
            return
        mark = uuid.uuid4().hex  # this call's identity: a re-send of it must not count again
        try:
            for race in range(RACES):
                outcome = await self._send_once(pk, checked, bases, mark)
                if outcome == "applied":
                    return
                if outcome == "raced":
                    await asyncio.sleep(random.uniform(0, 0.01 * 2 ** min(race, 6)))
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos increment") from None
        raise StoreError("cosmos increment failed: too many concurrent updates of its counter documents")

    async def _send_once(self, pk: PartitionKey, updates: list[CounterUpdate], bases: dict[str, dict],
                         mark: str) -> str:
        """One batch: 'applied' (now or by an earlier send), 'created' (a missing document was created:
        send again) or 'raced' (another increment changed a wide document first: read and send again)."""
        stored: dict[str, dict] = {}
        for update in updates:
            if _is_wide(update):
                found = await self._read_raw(pk, update.doc_id)
                if found is None:
                    await self._create_base(bases[update.doc_id])
                    return "created"
                if found.get(OP_MARK) == mark:
                    return "applied"  # an earlier send landed; its answer was lost
                stored[update.doc_id] = found
        ct = await self._container()

        def send() -> Awaitable[Any]:  # rebuilt per send: the SDK consumes the per-operation options
            return ct.execute_item_batch(_operations(updates, stored, mark), partition_key=list(pk))
        try:
            await self._call("increment", send)
            return "applied"
        except cx.CosmosBatchOperationError as e:
            failed = updates[e.error_index]
            if e.status_code == 404:
                await self._create_base(bases[failed.doc_id])
                return "created"
            if e.status_code == 412:
                found = await self._read_raw(pk, failed.doc_id)
                if found is not None and found.get(OP_MARK) == mark:
                    return "applied"  # the marker is only ever written by the whole batch
                return "raced"
            raise scrubbed(e, "cosmos increment") from None

    async def _create_base(self, base: dict) -> None:
        ct = await self._container()
        try:
            await self._call("increment", lambda: ct.create_item(dict(base)))
        except cx.CosmosResourceExistsError:
            pass  # created by another increment (or by our own lost answer): either is the same base


def _is_wide(update: CounterUpdate) -> bool:
    return len(update.deltas) >= PATCH_LIMIT  # the marker takes one of the patch's operations


def _operations(updates: list[CounterUpdate], stored: Mapping[str, dict], mark: str) -> list:
    ops: list = []
    for update in updates:
        if _is_wide(update):
            found = stored[update.doc_id]
            doc = {k: v for k, v in found.items() if k not in SYSTEM_FIELDS}
            doc = counter_updates.added(doc, update.deltas) | {OP_MARK: mark}
            ops.append(("replace", (update.doc_id, doc), {"if_match_etag": found["_etag"]}))
        else:
            patch = [{"op": "incr", "path": f"/{name}", "value": value} for name, value in update.deltas.items()]
            patch.append({"op": "set", "path": f"/{OP_MARK}", "value": mark})
            predicate = f"FROM c WHERE NOT IS_DEFINED(c.{OP_MARK}) OR c.{OP_MARK} != '{mark}'"  # hex: no quoting
            ops.append(("patch", (update.doc_id, patch), {"filter_predicate": predicate}))
    return ops
