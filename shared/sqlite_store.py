"""Embedded document store: one SQLite file (WAL), the local default. Not for Azure.

All work runs on one dedicated thread (shared/sqlite_thread.py). Bodies are UTF-8 JSON, or JSON with ASCII
escapes when a value holds a lone UTF-16 surrogate (valid localStorage data), which survives byte for byte.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Mapping, Sequence

import orjson

from shared import counter_updates
from shared.counter_updates import CounterUpdate
from shared.ports import Conflict, NotFound, PartitionKey, PreconditionFailed
from shared.sqlite_thread import SqliteOnThread

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    tenant TEXT NOT NULL, user TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
    etag TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (tenant, user, id)
);  -- a rowid table: with ~1 KB rows, WITHOUT ROWID doubled the insert cost
CREATE INDEX IF NOT EXISTS docs_type ON docs (type, tenant);
"""


def _dump(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "_etag"}
    try:
        return orjson.dumps(body).decode()  # fast path
    except TypeError:  # lone surrogates: orjson refuses them, ASCII escapes keep them
        return json.dumps(body, ensure_ascii=True, separators=(",", ":"))


def _load(body: str, etag: str) -> dict:
    doc = json.loads(body)
    doc["_etag"] = etag
    return doc


def _new_etag() -> str:
    return uuid.uuid4().hex


def _owned(pk: PartitionKey, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    # As in Cosmos, where the partition key IS these fields: a document cannot sit in another's partition.
    if (doc.get("tenantId"), doc.get("userId")) != tuple(pk):
        raise ValueError("document owner fields do not match the target partition")
    return doc


class SqliteDocumentStore(SqliteOnThread):
    schema = _SCHEMA
    label = "embedded store"

    @classmethod
    def from_settings(cls, settings) -> "SqliteDocumentStore":
        return cls(settings.local_data_dir / "documents.sqlite3")

    async def read(self, pk: PartitionKey, doc_id: str) -> dict | None:
        def q(c: sqlite3.Connection):
            row = c.execute("SELECT body, etag FROM docs WHERE tenant=? AND user=? AND id=?",
                            (*pk, doc_id)).fetchone()
            return _load(*row) if row else None
        return await self._run(q)

    async def create(self, pk: PartitionKey, doc: Mapping[str, Any]) -> dict:
        body, etag = _dump(_owned(pk, doc)), _new_etag()

        def q(c: sqlite3.Connection):
            try:
                c.execute("INSERT INTO docs VALUES (?,?,?,?,?,?)", (*pk, doc["id"], doc["type"], etag, body))
            except sqlite3.IntegrityError:
                raise Conflict(f"document {doc['id']} exists") from None
            return _load(body, etag)
        return await self._run(q)

    async def replace(self, pk: PartitionKey, doc: Mapping[str, Any], etag: str) -> dict:
        body, new = _dump(_owned(pk, doc)), _new_etag()

        def q(c: sqlite3.Connection):
            cur = c.execute("UPDATE docs SET body=?, etag=?, type=? WHERE tenant=? AND user=? AND id=? AND etag=?",
                            (body, new, doc["type"], *pk, doc["id"], etag))
            if cur.rowcount == 0:
                exists = c.execute("SELECT 1 FROM docs WHERE tenant=? AND user=? AND id=?",
                                   (*pk, doc["id"])).fetchone()
                raise (PreconditionFailed if exists else NotFound)(f"document {doc['id']}")
            return _load(body, new)
        return await self._run(q)

    async def write_set(self, pk: PartitionKey, upserts: Sequence[Mapping[str, Any]],
                        deletes: Sequence[str] = ()) -> None:
        base = _new_etag()[:20]  # one random base per write set: unique etags without a urandom per document
        rows = [(*pk, d["id"], d["type"], f"{base}{i:x}", _dump(_owned(pk, d))) for i, d in enumerate(upserts)]

        def q(c: sqlite3.Connection):
            c.execute("BEGIN IMMEDIATE")
            try:
                c.executemany("INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?,?)", rows)
                c.executemany("DELETE FROM docs WHERE tenant=? AND user=? AND id=?", [(*pk, i) for i in deletes])
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        await self._run(q)

    async def list_partition(self, pk: PartitionKey, types: Sequence[str] | None = None) -> list[dict]:
        if types is not None and not types:
            return []

        def q(c: sqlite3.Connection):
            sql, args = "SELECT body, etag FROM docs WHERE tenant=? AND user=?", list(pk)
            if types is not None:
                sql += f" AND type IN ({','.join('?' * len(types))})"
                args += list(types)
            return [_load(b, e) for b, e in c.execute(sql, args)]
        return await self._run(q)

    async def list_ids(self, pk: PartitionKey, types: Sequence[str]) -> list[str]:
        if not types:
            return []

        def q(c: sqlite3.Connection):
            sql = f"SELECT id FROM docs WHERE tenant=? AND user=? AND type IN ({','.join('?' * len(types))})"
            return [r[0] for r in c.execute(sql, (*pk, *types))]
        return await self._run(q)

    async def find(self, doc_type: str, *, tenant_id: str | None = None,
                   where: Mapping[str, Any] | None = None, greater_than: tuple[str, Any] | None = None,
                   order_by: str | None = None, limit: int | None = None) -> list[dict]:
        def field(name: str) -> str:
            if not name.isidentifier():
                raise ValueError("field names must be identifiers")
            return f"json_extract(body, '$.{name}')"

        def q(c: sqlite3.Connection):
            sql = "SELECT body, etag FROM docs WHERE type=?"
            args: list[Any] = [doc_type]
            if tenant_id is not None:
                sql += " AND tenant=?"
                args.append(tenant_id)
            for name, value in (where or {}).items():
                sql += f" AND {field(name)} IS ?"
                args.append(value)
            if greater_than is not None:
                sql += f" AND {field(greater_than[0])} > ?"
                args.append(greater_than[1])
            if order_by:
                sql += f" ORDER BY {field(order_by)}"
            if limit is not None:
                sql += " LIMIT ?"
                args.append(int(limit))
            return [_load(b, e) for b, e in c.execute(sql, args)]
        return await self._run(q)

    async def count(self, pk: PartitionKey, types: Sequence[str]) -> dict[str, int]:
        if not types:
            return {}

        def q(c: sqlite3.Connection):
            sql = (f"SELECT type, COUNT(*) FROM docs WHERE tenant=? AND user=? "
                   f"AND type IN ({','.join('?' * len(types))}) GROUP BY type")
            found = dict(c.execute(sql, (*pk, *types)).fetchall())
            return {t: found.get(t, 0) for t in types}
        return await self._run(q)

    async def increment(self, pk: PartitionKey, updates: Sequence[CounterUpdate]) -> None:
        checked = counter_updates.checked(updates)

        def q(c: sqlite3.Connection):
            c.execute("BEGIN IMMEDIATE")  # one transaction for every update: all or nothing
            try:
                for update in checked:
                    row = c.execute("SELECT body FROM docs WHERE tenant=? AND user=? AND id=?",
                                    (*pk, update.doc_id)).fetchone()
                    doc = json.loads(row[0]) if row else dict(_owned(pk, {**update.base, "id": update.doc_id}))
                    counter_updates.added(doc, update.deltas)
                    c.execute("INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?,?)",
                              (*pk, update.doc_id, doc["type"], _new_etag(), _dump(doc)))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        await self._run(q)
