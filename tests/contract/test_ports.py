"""The port contracts, run against every adapter of each port: embedded/local, the Azure ones (emulators), and the
in-memory document fake (`memory`: the embedded stack with shared/memory_store.py as its document store)."""
from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest
import pytest_asyncio

from shared.composition import build_ports
from shared.counter_updates import CounterUpdate
from shared.memory_store import MemoryDocumentStore
from shared.ports import (
    BackupStore,
    Conflict,
    DocumentStore,
    NotFound,
    PreconditionFailed,
    SecretStore,
    StoreError,
)

from ..conftest import STACKS, stack_env
from ..helpers import settings_from


@pytest_asyncio.fixture(params=[*STACKS, "memory"])
async def ports(request, tmp_path):
    kind = "embedded" if request.param == "memory" else request.param
    built = build_ports(settings_from(stack_env(request, kind, tmp_path)))
    if request.param == "memory":
        await built.documents.close()
        built.documents = MemoryDocumentStore()
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"  # the emulators are shared by a session


def doc(pk, doc_id, doc_type="agent", **fields):
    return {"id": doc_id, "type": doc_type, "tenantId": pk[0], "userId": pk[1], **fields}


async def test_adapters_satisfy_the_protocols(ports):
    assert isinstance(ports.documents, DocumentStore)
    assert isinstance(ports.secrets, SecretStore)
    assert isinstance(ports.backups, BackupStore)
    for port in (ports.documents, ports.secrets, ports.backups):
        await port.health()


async def test_create_read_replace_with_etags(ports, tenant):
    pk = (tenant, "u1")
    d = ports.documents
    assert await d.read(pk, "x.1") is None
    created = await d.create(pk, doc(pk, "x.1", n=1, text="é\ud800"))
    assert created["_etag"] and (await d.read(pk, "x.1"))["text"] == "é\ud800"  # lone surrogate kept
    with pytest.raises(Conflict):
        await d.create(pk, doc(pk, "x.1", n=2))
    replaced = await d.replace(pk, doc(pk, "x.1", n=3), created["_etag"])
    assert replaced["_etag"] != created["_etag"]
    with pytest.raises(PreconditionFailed):
        await d.replace(pk, doc(pk, "x.1", n=4), created["_etag"])  # someone else wrote first
    with pytest.raises(NotFound):
        await d.replace(pk, doc(pk, "x.missing"), created["_etag"])
    assert (await d.read(pk, "x.1"))["n"] == 3


async def test_write_set_upserts_deletes_and_is_idempotent(ports, tenant):
    pk = (tenant, "u1")
    d = ports.documents
    docs = [doc(pk, f"m.{i}", "chat_message", sequence_number=i) for i in range(30)]
    await d.write_set(pk, docs)
    await d.write_set(pk, docs, ["m.0", "m.1", "never-existed"])
    ids = sorted(await d.list_ids(pk, ["chat_message"]))
    assert ids == sorted(f"m.{i}" for i in range(2, 30))
    assert await d.count(pk, ["chat_message", "agent"]) == {"chat_message": 28, "agent": 0}


async def test_partitions_never_leak(ports, tenant):
    d = ports.documents
    a, b, c = (tenant, "u1"), (tenant, "u2"), (f"{tenant}-other", "u1")
    for pk in (a, b, c):
        await d.write_set(pk, [doc(pk, f"agent.{pk[1]}.{pk[0][-5:]}", owner=list(pk))])
    for pk in (a, b, c):
        listed = await d.list_partition(pk, ["agent"])
        assert [x["owner"] for x in listed] == [list(pk)]
    assert {x["userId"] for x in await d.find("agent", tenant_id=tenant)} == {"u1", "u2"}
    with pytest.raises(ValueError):
        await d.write_set(a, [doc(b, "agent.wrong")])  # a document cannot sit in another's partition


async def test_find_filters_orders_and_limits(ports, tenant):
    d = ports.documents
    for i in range(5):
        pk = (tenant, f"u{i}")
        await d.write_set(pk, [doc(pk, f"migration.{i}", "migration", status="completed" if i % 2 == 0 else "failed",
                                   completedAt=f"2026-01-0{i + 1}", sampleKey=i / 10)])
    done = await d.find("migration", tenant_id=tenant, where={"status": "completed"})
    assert sorted(x["userId"] for x in done) == ["u0", "u2", "u4"]
    later = await d.find("migration", tenant_id=tenant, where={"status": "completed"},
                         greater_than=("completedAt", "2026-01-01"), order_by="completedAt", limit=1)
    assert [x["userId"] for x in later] == ["u2"]


def counter_base(tenant: str, doc_type: str = "counters") -> dict:
    return {"type": doc_type, "tenantId": tenant, "userId": "_tenant", "schemaVersion": 1}


async def test_increment_adds_atomically_and_creates_from_base(ports, tenant):
    pk, base = (tenant, "_tenant"), counter_base(tenant)
    await asyncio.gather(*(ports.documents.increment(pk, [CounterUpdate("counters", {"a": 1, "b": 2.5}, base)])
                           for _ in range(8)))
    counters = await ports.documents.read(pk, "counters")
    assert (counters["a"], counters["b"]) == (8, 20.0)


# Field counts around Cosmos' 10 operations per patch: each call's fields land together, exactly once.
@pytest.mark.parametrize("fields", [1, 9, 10, 25])
async def test_increment_applies_all_fields_of_each_call_and_nothing_else(ports, tenant, fields):
    pk, base = (tenant, "_tenant"), counter_base(tenant)
    deltas = {f"f{i}": i + 1 for i in range(fields)}
    await asyncio.gather(*(ports.documents.increment(pk, [CounterUpdate("counters", deltas, base)])
                           for _ in range(6)))
    await ports.documents.increment(pk, [CounterUpdate("counters", {"f0": 0.5}, base)])
    stored = await ports.documents.read(pk, "counters")
    assert {k: stored[k] for k in deltas} == {k: 6 * v + (0.5 if k == "f0" else 0) for k, v in deltas.items()}
    assert set(stored) == {*base, *deltas, "id", "_etag"}  # no internal marker leaks out


# A completion: a wide totals update and a one-field day update, concurrently; nothing is lost on either.
@pytest.mark.parametrize("totals_fields", [3, 14])
async def test_concurrent_increments_of_two_documents_lose_nothing(ports, tenant, totals_fields):
    pk = (tenant, "_tenant")
    totals = {f"t{i}": 1 for i in range(totals_fields)}

    def completion() -> list[CounterUpdate]:
        return [CounterUpdate("counters", totals, counter_base(tenant)),
                CounterUpdate("counters.20260101", {"minute_0001": 1}, counter_base(tenant, "counters_day"))]
    await asyncio.gather(*(ports.documents.increment(pk, completion()) for _ in range(8)))
    stored = await ports.documents.read(pk, "counters")
    day = await ports.documents.read(pk, "counters.20260101")
    assert {k: stored[k] for k in totals} == {k: 8 for k in totals} and day["minute_0001"] == 8


async def test_a_failing_second_update_leaves_the_first_unapplied(ports, tenant):
    pk, base = (tenant, "_tenant"), counter_base(tenant)
    await ports.documents.increment(pk, [CounterUpdate("counters", {"a": 1}, base)])
    # The second document exists with a text where the update adds a number: only the store can tell.
    await ports.documents.write_set(pk, [{**counter_base(tenant, "counters_day"), "id": "day", "label": "text"}])
    for second_exists in (True, False):
        second = "day" if second_exists else "new-day"
        with pytest.raises((ValueError, StoreError)):
            await ports.documents.increment(pk, [CounterUpdate("counters", {"a": 1, "b": 1}, base),
                                                 CounterUpdate(second, {"label": 1}, base if second_exists else
                                                               {**base, "tenantId": "another"})])
        stored = await ports.documents.read(pk, "counters")
        assert (stored["a"], stored.get("b")) == (1, None)
        assert await ports.documents.read(pk, "new-day") is None
    assert (await ports.documents.read(pk, "day"))["label"] == "text"


async def test_increment_refuses_malformed_updates_before_writing(ports, tenant):
    pk, base = (tenant, "_tenant"), counter_base(tenant)
    for bad in ({"id": 1}, {"tenantId": 1}, {"a-b": 1}, {"_ts": 1}, {"a": float("nan")}, {"a": "1"}, {"a": True}):
        with pytest.raises(ValueError):
            CounterUpdate("counters", bad, base)
    with pytest.raises(ValueError):  # one update per document and call
        await ports.documents.increment(pk, [CounterUpdate("c", {"a": 1}, base), CounterUpdate("c", {"b": 1}, base)])
    assert await ports.documents.read(pk, "c") is None
    await ports.documents.increment(pk, [])  # nothing to add: nothing written


async def test_secrets_set_get_and_unchanged_values(ports, tenant):
    s = ports.secrets
    name = "ls-" + hashlib.sha256(tenant.encode()).hexdigest()[:40]
    assert await s.get(name) is None
    first = await s.set(name, "sk-one\ud800", {"source": "test"})
    assert first.created and await s.get(name) == "sk-one\ud800"
    again = await s.set(name, "sk-one\ud800", {"source": "test"})
    assert (again.created, again.version) == (False, first.version)         # no new version
    second = await s.set(name, "sk-two")
    assert second.created and second.version != first.version and await s.get(name) == "sk-two"
    with pytest.raises(ValueError):
        await s.set("not_valid!", "x")
    with pytest.raises(ValueError):
        await s.set(name, "x" * 30_000)                                     # Key Vault's 25 KB cap


async def test_every_secret_version_stays_readable_by_id(ports, tenant):
    s = ports.secrets
    name = "ls-v-" + hashlib.sha256(tenant.encode()).hexdigest()[:40]
    written = {}
    for value in ["v1", "v2", "v1", "v3\ud800"]:  # a value that comes back is a new version, as in Key Vault
        written[(await s.set(name, value)).version] = value
    assert len(written) == 4
    for version, value in written.items():
        assert await s.get(name, version) == value
    assert await s.get(name) == "v3\ud800"
    assert await s.get(name, uuid.uuid4().hex) is None                       # no such version
    for bad in ["../x", "a" * 33, "", "zz" * 16]:
        with pytest.raises(ValueError):
            await s.get(name, bad)


# (steps, what get answers after them): delete is soft, idempotent, and a later set recovers the name.
DELETE_CASES = [
    (["set v1", "delete", "get"], None),
    (["set v1", "delete", "delete→False", "get"], None),
    (["delete→False", "get"], None),
    (["set v1", "delete", "set v1→unchanged", "get"], "v1"),
    (["set v1", "delete", "set v2→created", "get"], "v2"),
    (["set v1", "set v2", "delete", "set v1→created", "get"], "v1"),
]


@pytest.mark.parametrize("steps,final", DELETE_CASES)
async def test_secret_delete_is_soft_idempotent_and_recoverable(ports, tenant, steps, final):
    s = ports.secrets
    name = "ls-d-" + uuid.uuid4().hex
    versions: dict[str, str] = {}
    for step in steps:
        op, _, expect = step.partition("→")
        if op.startswith("set "):
            value = op.split()[1]
            written = await s.set(name, value)
            versions[written.version] = value
            if expect:
                assert written.created is (expect == "created"), step
        elif op == "delete":
            assert await s.delete(name) is (expect != "False"), step
            for version in versions:
                assert await s.get(name, version) is None  # a deleted name hides every version
        else:
            assert await s.get(name) == final
    if final is not None:  # recovered: the earlier versions are readable again (backups name them)
        for version, value in versions.items():
            assert await s.get(name, version) == value


async def test_backups_are_write_once(ports, tenant):
    b = ports.backups
    path = f"{tenant}/u1/m-1.json"
    first = await b.write(path, b'{"a": 1}', {"sha256": "x"})
    assert first.created and first.sha256 == hashlib.sha256(b'{"a": 1}').hexdigest()
    again = await b.write(path, b'{"a": 1}', {"sha256": "x"})
    assert not again.created and again.sha256 == first.sha256           # a retry of the same backup
    with pytest.raises(Conflict):
        await b.write(path, b'{"a": 2}', {})                            # never overwritten
    assert await b.read(path) == b'{"a": 1}' and await b.read(f"{tenant}/none.json") is None
    assert await b.size(path) == 8 and await b.size(f"{tenant}/none.json") is None
    assert path in await b.list(f"{tenant}/")
    assert await b.delete(path) is True
    assert await b.read(path) is None and await b.size(path) is None and path not in await b.list(f"{tenant}/")
    assert await b.delete(path) is False                                # idempotent
    again = await b.write(path, b'{"a": 2}', {})                       # the path is free again
    assert again.created
