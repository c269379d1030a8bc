"""`DocumentStore.increment` on Cosmos DB: every update of one call in ONE transactional batch, exactly once.

Why it is built this way:
- All-or-nothing: the updates share a partition (a completion's totals and day documents), so one
  `execute_item_batch` applies them together; Cosmos rolls the whole batch back when one operation fails.
- Exactly once: the batch's first operation creates a receipt document named by this call's unique id. A re-send
  whose first answer was lost (the SDK's or our retry) then fails on that create (409) and rolls back, which
  proves the earlier send landed, whatever other increments did to the counters since. (A marker on the counter
  documents could not prove it: the next completion of the tenant overwrites it.) Receipts expire (`ttl`; the
  container's default TTL is -1, so nothing else does).
- Narrow updates (at most the 10 operations a patch takes) are a patch of `incr` operations; wider ones are a
  replace conditioned on the etag read just before (a lost race reads again).
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

# Marker of the last increment on a counter document, written by earlier versions; dropped on the next replace.
OP_MARK = "lastIncrementId"
RECEIPT_TYPE = "counter_receipt"
RECEIPT_TTL_S = 7 * 24 * 3600  # far longer than any retry of one call
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
                outcome = await self.send_once(pk, checked, bases, mark)
                if outcome == "applied":
                    return
                if outcome == "raced":
                    await asyncio.sleep(random.uniform(0, 0.01 * 2 ** min(race, 6)))
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos increment") from None
        raise StoreError("cosmos increment failed: too many concurrent updates of its counter documents")

    async def send_once(self, pk: PartitionKey, updates: list[CounterUpdate], bases: dict[str, dict],
                         mark: str) -> str:
        """One send of the batch named `mark` (a retry sends the same mark): 'applied' (now or by an earlier
        send), 'created' (a missing document was created: send again) or 'raced' (another increment changed a
        wide document first: read and send again)."""
        stored: dict[str, dict] = {}
        for update in updates:
            if _is_wide(update):
                found = await self._read_raw(pk, update.doc_id)
                if found is None:
                    await self._create_base(bases[update.doc_id])
                    return "created"
                stored[update.doc_id] = found
        receipt = self._body(pk, {"id": f"counters.receipt.{mark}", "type": RECEIPT_TYPE, "tenantId": pk[0],
                                  "userId": pk[1], "ttl": RECEIPT_TTL_S})
        ct = await self._container()

        def send() -> Awaitable[Any]:  # rebuilt per send: the SDK consumes the operations' options
            return ct.execute_item_batch(_operations(receipt, updates, stored), partition_key=list(pk))
        try:
            await self._call("increment", send)
            return "applied"
        except cx.CosmosBatchOperationError as e:
            if e.error_index == 0 and e.status_code == 409:
                return "applied"  # our receipt exists: an earlier send of this very batch landed
            failed = updates[e.error_index - 1] if e.error_index > 0 else None
            if failed is not None and e.status_code == 404:
                await self._create_base(bases[failed.doc_id])
                return "created"
            if failed is not None and e.status_code == 412:
                return "raced"
            raise scrubbed(e, "cosmos increment") from None

    async def _create_base(self, base: dict) -> None:
        ct = await self._container()
        try:
            await self._call("increment", lambda: ct.create_item(dict(base)))
        except cx.CosmosResourceExistsError:
            pass  # created by another increment (or by our own lost answer): either is the same base


def _is_wide(update: CounterUpdate) -> bool:
    return len(update.deltas) > PATCH_LIMIT


def _operations(receipt: dict, updates: list[CounterUpdate], stored: Mapping[str, dict]) -> list:
    ops: list = [("create", (dict(receipt),), {})]
    for update in updates:
        if _is_wide(update):
            found = stored[update.doc_id]
            doc = {k: v for k, v in found.items() if k not in SYSTEM_FIELDS}
            doc = counter_updates.added(doc, update.deltas)
            ops.append(("replace", (update.doc_id, doc), {"if_match_etag": found["_etag"]}))
        else:
            patch = [{"op": "incr", "path": f"/{name}", "value": value} for name, value in update.deltas.items()]
            ops.append(("patch", (update.doc_id, patch), {}))
    return ops
