"""Lease takeover, heartbeat loss and failure marking, on the in-memory document fake with an injected clock:
the service's lease rules, fast and without emulators (the same fake passes the port contract suite).

Secrets and backups are the local adapters (files under tmp_path); documents are shared/memory_store.py.
"""
from __future__ import annotations

import asyncio

import pytest

from migration.domain import counters, errors
from migration.services.service import MigrationService, record_id
from shared.composition import build_ports
from shared.memory_store import MemoryDocumentStore
from shared.ports import DependencyUnavailable
from tests.helpers import dev_env, settings_from

pytestmark = pytest.mark.asyncio

T, U = "contoso", "user-1"
DATA = {"theme": '"dark"', f"ai_agents_{T}": '[{"id": "a1", "name": "A"}]', "stray": "kept raw"}
LEASE = 120.0


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def svc(tmp_path):
    settings = settings_from(dev_env(tmp_path / "data", MIGRATION_LEASE_SECONDS=str(LEASE)))
    ports = build_ports(settings)
    await ports.documents.close()
    ports.documents = MemoryDocumentStore()
    clock = Clock()
    service = MigrationService(ports, settings, clock=clock)
    yield service, ports.documents, clock
    await ports.close()


async def stale_record(docs: MemoryDocumentStore, clock: Clock, expires_in: float, owner: str = "other") -> dict:
    return await docs.create((T, U), {
        "id": record_id(U), "type": "migration", "tenantId": T, "userId": U, "status": "in_progress",
        "migrationId": "m-old", "leaseOwner": owner, "leaseExpiresAt": clock() + expires_in, "attempt": 1})


# (seconds after the other attempt's lease was taken, what a new attempt gets, what status reads)
TAKEOVER = [
    (0.0, "MIGRATION_IN_PROGRESS", "in_progress"),
    (LEASE - 0.001, "MIGRATION_IN_PROGRESS", "in_progress"),
    (LEASE, "completed", "failed"),  # expiry is exclusive: a lease is live while expiresAt > now
    (LEASE * 10, "completed", "failed"),
]


@pytest.mark.parametrize("elapsed,outcome,status_before", TAKEOVER)
async def test_a_live_lease_refuses_and_an_expired_one_is_taken_over(svc, elapsed, outcome, status_before):
    service, docs, clock = svc
    await stale_record(docs, clock, LEASE)
    clock.now += elapsed
    assert (await service.status(T, U))["migration_status"] == status_before
    if outcome == "completed":
        result = await service.migrate(T, U, dict(DATA))
        record = await docs.read((T, U), record_id(U))
        assert (record["status"], record["attempt"], record["leaseOwner"]) == ("completed", 2, None)
        assert result["manifest"]["received"] == len(DATA)
    else:
        with pytest.raises(errors.ServiceError) as caught:
            await service.migrate(T, U, dict(DATA))
        assert caught.value.code == outcome
        record = await docs.read((T, U), record_id(U))
        assert (record["leaseOwner"], record["migrationId"]) == ("other", "m-old")  # untouched
        assert await docs.list_ids((T, U), ["agent", "preferences", "quarantine"]) == []


async def test_an_attempt_whose_lease_was_taken_stops_before_overwriting_the_newer_one(tmp_path):
    settings = settings_from(dev_env(tmp_path / "data", MIGRATION_LEASE_SECONDS="0.3"))
    ports = build_ports(settings)
    await ports.documents.close()
    docs = ports.documents = MemoryDocumentStore()
    clock = Clock()
    service = MigrationService(ports, settings, clock=clock)
    taken = asyncio.Event()
    real_write_set = docs.write_set

    async def stalled_write_set(pk, upserts, deletes=()):
        if pk == (T, U):  # our process stalls past its lease; another attempt takes the record meanwhile
            record = await docs.read(pk, record_id(U))
            thief = {**{k: v for k, v in record.items() if k != "_etag"}, "leaseOwner": "thief",
                     "migrationId": "m-thief", "leaseExpiresAt": clock() + 999}
            await docs.replace(pk, thief, record["_etag"])
            taken.set()
            await asyncio.sleep(5)  # cancelled by the heartbeat's finding
        return await real_write_set(pk, upserts, deletes)

    docs.write_set = stalled_write_set
    try:
        with pytest.raises(errors.ServiceError) as caught:
            await asyncio.wait_for(service.migrate(T, U, dict(DATA)), timeout=4)
        assert caught.value.code == "MIGRATION_IN_PROGRESS" and taken.is_set()
        record = await docs.read((T, U), record_id(U))
        assert (record["status"], record["leaseOwner"], record["migrationId"]) == ("in_progress", "thief", "m-thief")
        assert await docs.list_ids((T, U), ["agent", "preferences", "quarantine"]) == []  # nothing written
    finally:
        await ports.close()


# (the call that fails, the error it raises, the code the record keeps)
FAILURES = [
    ("write_set", DependencyUnavailable("cosmos upsert: HTTP 503"), "DEPENDENCY_UNAVAILABLE"),
    ("write_set", RuntimeError("boom"), "MIGRATION_ERROR"),
    ("list_ids", DependencyUnavailable("cosmos list_ids: HTTP 503"), "DEPENDENCY_UNAVAILABLE"),
]


@pytest.mark.parametrize("call,error,code", FAILURES)
async def test_a_failed_attempt_is_marked_failed_releases_its_lease_and_a_retry_completes(svc, call, error, code):
    service, docs, clock = svc
    real = getattr(docs, call)

    async def failing(*args, **kwargs):
        if args and args[0] == (T, U):
            raise error
        return await real(*args, **kwargs)

    setattr(docs, call, failing)
    with pytest.raises(type(error)):
        await service.migrate(T, U, dict(DATA))
    record = await docs.read((T, U), record_id(U))
    assert (record["status"], record["error"]["code"], record["leaseOwner"], record["leaseExpiresAt"]) == (
        "failed", code, None, None)
    assert (await service.status(T, U))["migration_status"] == "failed"
    totals = await docs.read((T, "_tenant"), counters.TOTALS_ID)
    assert (totals["attempts"], totals["failures"], totals[f"error_{code}"]) == (1, 1, 1)
    setattr(docs, call, real)
    clock.now += 1  # no waiting for the lease: the failure released it
    result = await service.migrate(T, U, dict(DATA))
    assert result["success"] and (await docs.read((T, U), record_id(U)))["attempt"] == 2


async def test_a_completion_is_counted_in_one_increment_with_its_request_charge(svc):
    service, docs, clock = svc
    before = docs.calls["increment"]
    result = await service.migrate(T, U, dict(DATA))
    # users_started (a new user), then the totals (every completion field) with the minute of the day: one call.
    assert docs.calls["increment"] - before == 2
    totals = await docs.read((T, "_tenant"), counters.TOTALS_ID)
    assert (totals["completions"], totals["attempts"], totals["request_charge_sum"]) == (1, 1, 0)
    assert result["request_charge"] == 0  # the fake spends no RU
