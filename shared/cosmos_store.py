"""DocumentStore on Azure Cosmos DB for NoSQL (async SDK), one logical partition per (tenantId, userId).

Rules this adapter keeps, and why:
- Every query names the partition in its SQL text (`c.tenantId = @t AND c.userId = @u`), never through the
  `partition_key=` argument alone: the local stand-in ignores that argument and would return every partition.
  On real Cosmos the equalities are harmless (the SDK still routes to one partition). Returned documents are
  filtered once more on the partition fields: a second fence for tenant isolation.
- `read` is a query on id + partition equalities, not a point read: the stand-in answers a point read of a
  missing id with 500 (after the SDK has already spent ~0.5 s retrying it), while real Cosmos answers 404. One
  code path behaves the same on both, at ~2-3 RU instead of 1 on real Cosmos, for the few small documents
  (migration record, tenant state) that are read by id.
- Documents must carry the partition they are written to (ValueError otherwise): nothing lands in another
  tenant's partition because of a caller's mix-up.
- Writes that are not idempotent (create, conditional replace) can be applied by the server while the client
  loses the answer (a reset); the SDK, or our retry, then repeats them and gets 409/412 for its own write. So on
  409/412 we read the stored document back: if it equals what this call sent, the write is ours and succeeded.
  Callers that use create/replace as a lock must therefore put a per-attempt unique value (a lease token) in
  the document; otherwise two identical bodies are indistinguishable, which is harmless for anything else.
- The stand-in keeps ids unique per tenant only (first key component): the same id in two users' partitions
  of one tenant collides there (409 on create, upsert overwrites the other user's document). Real Cosmos is
  unaffected; runs against the stand-in need ids that are unique per tenant.
- Returned documents hold the caller's fields plus `_etag` (Cosmos' other system fields are dropped).
- `find` filters and sorts only on indexed fields (cosmos_layout.INDEXED_PATHS, ValueError otherwise): real
  Cosmos refuses ORDER BY on a path excluded from the index, and a filter on one scans the container; the
  stand-in ignores indexing, so only this check makes the mistake visible before production.
- `increment` is a server-side patch (`incr`), exactly once: each patch also sets a fresh marker and is
  conditioned on the marker not being there yet, so a re-sent patch whose first answer was lost (the SDK re-sends
  on a dropped connection) answers 412 instead of counting twice.
"""
from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, Awaitable, Callable, Mapping, Sequence

from azure.core import MatchConditions
from azure.cosmos import PartitionKey as CosmosPartitionKey
from azure.cosmos import exceptions as cx
from azure.cosmos.aio import ContainerProxy, CosmosClient

from shared.azure_common import RetryPolicy, identity_credential, scrubbed, with_retries
from shared.cosmos_layout import (INDEXED_PATHS, INDEXING_POLICY, PARTITION_KEY_KIND, PARTITION_KEY_PATHS,
                                  PARTITION_KEY_VERSION)
from shared.ports import Conflict, NotFound, PartitionKey, PreconditionFailed, StoreError

# Id of the last increment applied to a counter document (see `increment`); internal, never returned.
# Spelled so the stand-in copes: it refuses to patch "_"-prefixed properties ("system"), and it lowercases the
# whole patch filter predicate, so a camelCase name there would never match.
OP_MARK = "last_increment_id"
SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", OP_MARK)
PATCH_LIMIT = 10  # Cosmos refuses a patch with more operations (the stand-in does not check)
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
                            id=self._container_name, indexing_policy=INDEXING_POLICY,
                            partition_key=CosmosPartitionKey(path=PARTITION_KEY_PATHS, kind=PARTITION_KEY_KIND,
                                                             version=PARTITION_KEY_VERSION))
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
        found = self._in_partition(pk, await self._query(
            "read", f"SELECT * FROM c WHERE {self._PK_SQL} AND c.id = @id",
            {"@t": pk[0], "@u": pk[1], "@id": doc_id}, pk))
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
        await self._bounded(jobs)

    async def _bounded(self, jobs: list[Callable[[], Awaitable[None]]]) -> None:
        """Run jobs with at most `write_concurrency` in flight (the SDK has no bulk API; concurrent async
        point writes are its maintainers' advice). The first failure stops new jobs from starting."""
        pending = iter(jobs)
        errors: list[BaseException] = []

        async def worker() -> None:
            for job in pending:  # one shared iterator: each job is taken by exactly one worker
                if errors:
                    return
                try:
                    await job()
                except Exception as e:  # noqa: BLE001 - re-raised below, after in-flight jobs settle
                    errors.append(e)
                    return

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(jobs)))))
        if errors:
            err = errors[0]
            if isinstance(err, (StoreError, ValueError)):
                raise err
            if isinstance(err, cx.CosmosHttpResponseError):
                raise scrubbed(err, "cosmos write_set") from None
            raise err

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
        return dict(zip(types, counts))

    async def increment(self, pk: PartitionKey, doc_id: str, deltas: Mapping[str, float],
                        base: Mapping[str, Any]) -> None:
        for name in deltas:
            if not _FIELD.match(name):  # goes into a patch path
                raise ValueError(f"unsupported counter field name {name!r}")
        body = self._body(pk, {**base, "id": doc_id})
        items = list(deltas.items())
        step = PATCH_LIMIT - 1  # one operation of each patch sets the marker
        try:
            for start in range(0, max(len(items), 1), step):
                if await self._increment_step(pk, body, items[start:start + step], items[start:]):
                    return  # the document was created with every remaining delta
        except cx.CosmosHttpResponseError as e:
            raise scrubbed(e, "cosmos increment") from None

    async def _increment_step(self, pk: PartitionKey, body: dict, chunk: list, rest: list) -> bool:
        """Apply `chunk` once; if the document does not exist yet, create it with `rest` (returns True)."""
        ct = await self._ct()
        mark = uuid.uuid4().hex
        ops = [{"op": "incr", "path": f"/{name}", "value": value} for name, value in chunk]
        ops.append({"op": "set", "path": f"/{OP_MARK}", "value": mark})
        predicate = f"FROM c WHERE NOT IS_DEFINED(c.{OP_MARK}) OR c.{OP_MARK} != '{mark}'"  # lowercase hex

        async def patch() -> None:
            try:
                await self._call("increment", lambda: ct.patch_item(
                    body["id"], partition_key=list(pk), patch_operations=ops, filter_predicate=predicate))
            except cx.CosmosAccessConditionFailedError:
                pass  # our marker is already there: an earlier send of this very patch was applied

        try:
            await patch()
            return False
        except cx.CosmosResourceNotFoundError:
            pass
        doc = dict(body)  # first count for this document: create it with every remaining delta at once
        for name, value in rest:
            doc[name] = doc.get(name, 0) + value
        doc[OP_MARK] = mark
        try:
            await self._call("increment", lambda: ct.create_item(doc))
            return True
        except cx.CosmosResourceExistsError:
            stored = await self._read_raw(pk, body["id"])
            if stored is not None and stored.get(OP_MARK) == mark:
                return True  # our create landed; its answer was lost
        await patch()  # someone else created it first: add ours to theirs
        return False

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

