"""DocumentStore on Azure Cosmos DB for NoSQL (async SDK), one logical partition per (tenantId, userId).

Rules this adapter keeps, and why:
- Every query names the partition in its SQL text (`c.tenantId = @t AND c.userId = @u`), never through the
  `partition_key=` argument alone: the local stand-in ignores that argument and would return every partition.
  On real Cosmos the equalities are harmless (the SDK still routes to one partition). Returned documents are
  filtered once more on the partition fields: a second fence for tenant isolation.
- `read` is a point read (1 RU for a small document); a missing id is 404 → None. (The local stand-in answers
  500 there; tests/support/cosmos_standin.js corrects it, so this code does not bend to it.)
- Documents must carry the partition they are written to (ValueError otherwise): nothing lands in another
  tenant's partition because of a caller's mix-up.
- Writes that are not idempotent (create, conditional replace) can be applied by the server while the client
  loses the answer (a reset); the SDK, or our retry, then repeats them and gets 409/412 for its own write. So on
  409/412 we read the stored document back: if it equals what this call sent, the write is ours and succeeded.
  Callers that use create/replace as a lock must therefore put a per-attempt unique value (a lease token) in
  the document; otherwise two identical bodies are indistinguishable, which is harmless for anything else.
- Ids need only be unique per partition on Cosmos. The planner still puts a hash of the user in ids (a
  longer id, nothing more): the stand-in keeps ids unique per tenant only and lets a patch addressed to one
  user change another's document with the same id, and a cross-user mix-up is worse than a longer id.
- Returned documents hold the caller's fields plus `_etag` (Cosmos' other system fields are dropped).
- `find` filters and sorts only on indexed fields (cosmos_layout.INDEXED_PATHS, ValueError otherwise): real
  Cosmos refuses ORDER BY on a path excluded from the index, and a filter on one scans the container; the
  stand-in ignores indexing, so only this check makes the mistake visible before production.
- `increment` applies all its updates in ONE transactional batch, exactly once (shared/cosmos_counters.py).
- Every response's `x-ms-request-charge` goes to the current request-charge meter (shared/request_charge.py):
  what a migration spent, retries and failed calls included (Cosmos bills those too).
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, Awaitable, Callable, Mapping, Sequence

from azure.core import MatchConditions
from azure.cosmos import PartitionKey as CosmosPartitionKey, exceptions as cx
from azure.cosmos.aio import ContainerProxy, CosmosClient

from shared import request_charge
from shared.azure_common import RetryPolicy, identity_credential, scrubbed, with_retries
from shared.concurrency import bounded
from shared.cosmos_counters import SYSTEM_FIELDS, CosmosCounters
from shared.cosmos_layout import (
    DEFAULT_TTL,
    INDEXED_PATHS,
    INDEXING_POLICY,
    PARTITION_KEY_KIND,
    PARTITION_KEY_PATHS,
    PARTITION_KEY_VERSION,
)
from shared.counter_updates import CounterUpdate
from shared.ports import Conflict, NotFound, PartitionKey, PreconditionFailed

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BAD_ID = re.compile(r"[/\\?#]")  # Cosmos refuses these in ids


class CosmosDocumentStore:
    def __init__(self, client: CosmosClient, database: str, container: str, *, write_concurrency: int = 16,
                 create_resources: bool = True, retry: RetryPolicy = RetryPolicy(), credential: Any = None):
        self._client = client
        self._database_name, self._container_name = database, container
        self._create_resources = create_resources
        self._concurrency = max(1, write_concurrency)
        self._retry = retry
        self._credential = credential
        self._container: ContainerProxy | None = None
        self._ensure_lock = asyncio.Lock()
        self.counters = CosmosCounters(self._ct, self._call, self._read_raw, self._body)  # its batches, for tests

    @classmethod
    def from_settings(cls, settings, *, retry: RetryPolicy | None = None) -> "CosmosDocumentStore":
        retry = retry or RetryPolicy()
        options: dict[str, Any] = {
            # The SDK retries 429 itself honouring x-ms-retry-after-ms, and connection failures after a fixed
            # pause (1 s by default). Keep both short and scaled to our policy: our loop adds the rest, and one
            # budget bounds how long a request can hang on a failing dependency.
            "retry_throttle_total": 3,
            "retry_throttle_backoff_max": max(1, int(retry.max_delay)),
            "retry_connect": 2,
            "retry_read": 2,
            "retry_backoff_factor": retry.base_delay,
            "raw_response_hook": request_charge.record,  # every response, retries included
        }
        if not settings.cosmos_verify_tls:
            options["connection_verify"] = False  # the local stand-in's self-signed certificate
        credential = None
        if settings.cosmos_connection:  # emulators only (key-based)
            client = CosmosClient.from_connection_string(settings.cosmos_connection, **options)
            create = True
        elif settings.cosmos_endpoint:
            credential = identity_credential(settings.cosmos_client_id, settings.cosmos_credential)
            client = CosmosClient(settings.cosmos_endpoint, credential=credential, **options)
            # Entra data-plane roles cannot create databases/containers: infra/ declares them.
            create = False
        else:
            raise ValueError("Cosmos DB needs COSMOS (emulator connection string) or COSMOS__accountEndpoint")
        return cls(client, settings.cosmos_database, settings.cosmos_container,
                   write_concurrency=settings.write_concurrency, create_resources=create, retry=retry,
                   credential=credential)

    # ---- plumbing -------------------------------------------------------------------------------
    async def _call(self, what: str, op: Callable[[], Awaitable[Any]]) -> Any:
        return await with_retries(f"cosmos {what}", op, self._retry, transient=(cx.CosmosClientTimeoutError,))

    async def _ct(self) -> ContainerProxy:
        if self._container is not None:
            return self._container
        async with self._ensure_lock:
            if self._container is None:
                if self._create_resources:
                    async def ensure() -> ContainerProxy:
                        db = await self._client.create_database_if_not_exists(self._database_name)
                        return await db.create_container_if_not_exists(
                            id=self._container_name, indexing_policy=INDEXING_POLICY,  # type: ignore[arg-type]
                            default_ttl=DEFAULT_TTL,
                            partition_key=CosmosPartitionKey(  # type: ignore[call-overload]
                                path=PARTITION_KEY_PATHS, kind=PARTITION_KEY_KIND, version=PARTITION_KEY_VERSION))
                    try:
                        self._container = await self._call("ensure container", ensure)
                    except cx.CosmosHttpResponseError as e:
                        raise scrubbed(e, "cosmos ensure container") from None
                else:
                    db = self._client.get_database_client(self._database_name)
                    self._container = db.get_container_client(self._container_name)
        return self._container

    @staticmethod
    def _body(pk: PartitionKey, doc: Mapping[str, Any]) -> dict:
        doc_id = doc.get("id")
        if not isinstance(doc_id, str) or not doc_id or len(doc_id) > 255 or _BAD_ID.search(doc_id):
            raise ValueError("document id must be a non-empty string of at most 255 chars without / \\ ? #")
        if (doc.get("tenantId"), doc.get("userId")) != tuple(pk):
            raise ValueError("document tenantId/userId do not match the partition it is written to")
        return {k: v for k, v in doc.items() if k not in SYSTEM_FIELDS}

    @staticmethod
    def _out(stored: Mapping[str, Any]) -> dict:
        out = {k: v for k, v in stored.items() if k not in SYSTEM_FIELDS}
        out["_etag"] = stored.get("_etag")
        return out

    async def _query(self, what: str, sql: str, params: dict[str, Any], pk: PartitionKey | None = None) -> list:
        ct = await self._ct()
        parameters = [{"name": n, "value": v} for n, v in params.items()]
        kwargs: dict[str, Any] = {"partition_key": list(pk)} if pk else {}  # none → cross-partition (aio)

        async def run() -> list:
            return [item async for item in ct.query_items(sql, parameters=parameters, **kwargs)]
        try:
            return await self._call(what, run)
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, f"cosmos {what}") from None

    @staticmethod
    def _in_partition(pk: PartitionKey, docs: list) -> list[dict]:
        return [d for d in docs if (d.get("tenantId"), d.get("userId")) == tuple(pk)]

    _PK_SQL = "c.tenantId = @t AND c.userId = @u"

    @staticmethod
    def _types_sql(types: Sequence[str], params: dict[str, Any]) -> str:
        names = []
        for i, t in enumerate(types):
            params[f"@ty{i}"] = t
            names.append(f"@ty{i}")
        return f" AND c.type IN ({', '.join(names)})"

    async def _stored_equals(self, pk: PartitionKey, body: Mapping[str, Any]) -> dict | None:
        """The stored document if it is exactly `body` (a write of ours whose answer was lost), else None."""
        stored = await self.read(pk, body["id"])
        if stored is not None and {k: v for k, v in stored.items() if k != "_etag"} == body:
            return stored
        return None

    async def _read_raw(self, pk: PartitionKey, doc_id: str) -> dict | None:
        ct = await self._ct()
        try:
            stored = await self._call("read", lambda: ct.read_item(doc_id, partition_key=list(pk)))
        except cx.CosmosResourceNotFoundError:
            return None
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos read") from None
        found = self._in_partition(pk, [stored])  # the second fence, as for queries
        return found[0] if found else None

    # ---- DocumentStore --------------------------------------------------------------------------
    async def read(self, pk: PartitionKey, doc_id: str) -> dict | None:
        stored = await self._read_raw(pk, doc_id)
        return self._out(stored) if stored is not None else None

    async def create(self, pk: PartitionKey, doc: Mapping[str, Any]) -> dict:
        body = self._body(pk, doc)
        ct = await self._ct()
        try:
            return self._out(await self._call("create", lambda: ct.create_item(body)))
        except cx.CosmosResourceExistsError:
            mine = await self._stored_equals(pk, body)
            if mine is not None:
                return mine
            raise Conflict("a document with this id already exists in the partition") from None
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos create") from None

    async def replace(self, pk: PartitionKey, doc: Mapping[str, Any], etag: str) -> dict:
        body = self._body(pk, doc)
        ct = await self._ct()
        try:
            return self._out(await self._call("replace", lambda: ct.replace_item(
                body["id"], body, etag=etag, match_condition=MatchConditions.IfNotModified)))
        except cx.CosmosResourceNotFoundError:
            raise NotFound("no document with this id in the partition") from None
        except cx.CosmosAccessConditionFailedError:
            mine = await self._stored_equals(pk, body)
            if mine is not None:
                return mine
            raise PreconditionFailed("the document changed since it was read") from None
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos replace") from None

    async def write_set(self, pk: PartitionKey, upserts: Sequence[Mapping[str, Any]],
                        deletes: Sequence[str] = ()) -> None:
        bodies = [self._body(pk, d) for d in upserts]  # validate everything before writing anything
        ct = await self._ct()
        key = list(pk)

        async def upsert(body: dict) -> None:
            await self._call("upsert", lambda: ct.upsert_item(body))

        async def delete(doc_id: str) -> None:
            try:
                await self._call("delete", lambda: ct.delete_item(doc_id, partition_key=key))
            except cx.CosmosResourceNotFoundError:
                pass  # already gone: deletes are idempotent

        jobs = [lambda b=b: upsert(b) for b in bodies] + [lambda i=i: delete(i) for i in deletes]
        # The SDK has no bulk API; concurrent async point writes are its maintainers' advice.
        try:
            await bounded(self._concurrency, jobs, lambda job: job())
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos write_set") from None

    async def list_partition(self, pk: PartitionKey, types: Sequence[str] | None = None) -> list[dict]:
        params: dict[str, Any] = {"@t": pk[0], "@u": pk[1]}
        if types is not None and not types:
            return []
        sql = f"SELECT * FROM c WHERE {self._PK_SQL}" + (self._types_sql(types, params) if types else "")
        return [self._out(d) for d in self._in_partition(pk, await self._query("list_partition", sql, params, pk))]

    async def list_ids(self, pk: PartitionKey, types: Sequence[str]) -> list[str]:
        if not types:
            return []
        params: dict[str, Any] = {"@t": pk[0], "@u": pk[1]}
        sql = f"SELECT VALUE c.id FROM c WHERE {self._PK_SQL}" + self._types_sql(types, params)
        return list(await self._query("list_ids", sql, params, pk))

    @staticmethod
    def _indexed_field(name: str) -> str:
        if not _FIELD.match(name):  # field names go into the SQL text: identifiers only
            raise ValueError(f"unsupported field name {name!r}")
        if f"/{name}/?" not in INDEXED_PATHS:
            raise ValueError(f"field {name!r} is not indexed: add '/{name}/?' to cosmos_layout.INDEXED_PATHS "
                             "(and the container in infra/) before filtering or sorting on it")
        return f'c["{name}"]'

    async def find(self, doc_type: str, *, tenant_id: str | None = None,
                   where: Mapping[str, Any] | None = None, greater_than: tuple[str, Any] | None = None,
                   order_by: str | None = None, limit: int | None = None) -> list[dict]:
        if limit is not None and int(limit) <= 0:
            return []
        params: dict[str, Any] = {"@type": doc_type}
        sql = "c.type = @type"
        if tenant_id is not None:
            params["@t"] = tenant_id
            sql += " AND c.tenantId = @t"
        for i, (name, value) in enumerate((where or {}).items()):
            field = self._indexed_field(name)
            if value is None:  # like SQL `IS NULL`: a missing field matches too
                sql += f" AND (NOT IS_DEFINED({field}) OR IS_NULL({field}))"
            else:
                params[f"@w{i}"] = value
                sql += f" AND {field} = @w{i}"
        if greater_than is not None:
            params["@gt"] = greater_than[1]
            sql += f" AND {self._indexed_field(greater_than[0])} > @gt"
        if order_by:
            sql += f" ORDER BY {self._indexed_field(order_by)} ASC"
        top = f"TOP {int(limit)} " if limit is not None else ""  # an int we formatted: no injection
        docs = await self._query("find", f"SELECT {top}* FROM c WHERE {sql}", params)  # cross-partition
        return [self._out(d) for d in docs
                if d.get("type") == doc_type and (tenant_id is None or d.get("tenantId") == tenant_id)]

    async def count(self, pk: PartitionKey, types: Sequence[str]) -> dict[str, int]:
        # One COUNT per type (the stand-in has no GROUP BY); single-partition, so each is cheap.
        async def one(doc_type: str) -> int:
            found = await self._query("count", f"SELECT VALUE COUNT(1) FROM c WHERE {self._PK_SQL} AND "
                                      "c.type = @ty", {"@t": pk[0], "@u": pk[1], "@ty": doc_type}, pk)
            return int(found[0]) if found else 0
        counts = await asyncio.gather(*(one(t) for t in types))
        return dict(zip(types, counts, strict=True))

    async def increment(self, pk: PartitionKey, updates: Sequence[CounterUpdate]) -> None:
        await self.counters.increment(pk, updates)  # one transactional batch (shared/cosmos_counters.py)

    async def health(self) -> None:
        ct = await self._ct()
        try:
            await self._call("health", ct.read)
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos health") from None

    async def close(self) -> None:
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()

