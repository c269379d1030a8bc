"""The Cosmos adapter uses Cosmos as Cosmos works, observed on the wire (the fault proxy records every request
the SDK sends and can add the `x-ms-request-charge` header Cosmos sends):

- a read by id is ONE point read answered 404 when missing (not a query, not a 500 the SDK retries);
- an increment is ONE write (one transactional batch) whatever its number of fields and documents, so a failure
  can never leave half of a completion counted, and it counts exactly once when its answer is lost;
- every response's request charge reaches the meter of the task that caused it, and no other.
"""
from __future__ import annotations

import asyncio
import math
import uuid

import pytest
from hypothesis import given, strategies as st

from migration import app_services
from shared import request_charge
from shared.counter_updates import CounterUpdate
from shared.ports import DependencyUnavailable
from tests.helpers import dev_env, settings_from
from tests.support.emulators import cosmos_connection_string


def docs_requests(proxy, since: int) -> list[tuple[str, str, int]]:
    return [r for r in proxy.requests[since:] if "/docs" in r[1]]


def is_write(method: str, path: str) -> bool:  # a batch is a POST to the container's docs, as a create is
    batch_or_create = method == "POST" and path.rstrip("/").endswith("/docs")
    return batch_or_create or (method in ("PATCH", "PUT") and "/docs/" in path)


def counter(tenant: str) -> tuple[tuple[str, str], str, dict]:
    base = {"type": "counters", "tenantId": tenant, "userId": "_tenant", "schemaVersion": 1}
    return (tenant, "_tenant"), f"counters-{uuid.uuid4().hex[:8]}", base


def completion(doc_id: str, deltas: dict, base: dict, with_day: bool) -> list[CounterUpdate]:
    """The totals update, and with `with_day` the one-field day update sent with it (as TenantCounters does)."""
    day = [CounterUpdate(f"{doc_id}.day", {"minute_0001": 1}, {**base, "type": "counters_day"})] if with_day else []
    return [CounterUpdate(doc_id, deltas, base), *day]


async def counted(cosmos, pk, doc_id: str, deltas: dict, with_day: bool) -> dict:
    stored = await cosmos.read(pk, doc_id)
    out = {k: stored.get(k) for k in deltas}
    if with_day:
        out["minute_0001"] = (await cosmos.read(pk, f"{doc_id}.day") or {}).get("minute_0001")
    return out


async def test_a_missing_id_is_one_point_read_answered_404(cosmos, cosmos_proxy, fresh_tenant):
    pk = (fresh_tenant, "u1")
    await cosmos.write_set(pk, [{"id": "here", "type": "agent", "tenantId": pk[0], "userId": pk[1]}])
    since = len(cosmos_proxy.requests)
    assert await cosmos.read(pk, "missing") is None
    assert (await cosmos.read(pk, "here"))["id"] == "here"
    assert await cosmos.read((fresh_tenant, "u2"), "here") is None  # another user's partition
    sent = docs_requests(cosmos_proxy, since)
    assert [(m, p.rstrip("/").rsplit("/", 1)[-1], status) for m, p, status in sent] == [
        ("GET", "missing", 404), ("GET", "here", 200), ("GET", "here", 404)]


# Field counts on both sides of Cosmos' 10 operations per patch.
@pytest.mark.parametrize("with_day", [False, True])
@pytest.mark.parametrize("fields", [1, 3, 9, 10, 17, 40])
async def test_an_increment_is_one_write(cosmos, cosmos_proxy, fresh_tenant, fields, with_day):
    pk, doc_id, base = counter(fresh_tenant)
    deltas = {f"f{i}": 1 for i in range(fields)}
    await cosmos.increment(pk, completion(doc_id, {"f0": 1}, base, with_day))  # the documents exist: updates
    since = len(cosmos_proxy.requests)
    await cosmos.increment(pk, completion(doc_id, deltas, base, with_day))
    writes = [r for r in cosmos_proxy.requests[since:] if is_write(r[0], r[1])]
    assert len(writes) == 1, writes
    expected = {k: 1 + (k == "f0") for k in deltas} | ({"minute_0001": 2} if with_day else {})
    assert await counted(cosmos, pk, doc_id, deltas, with_day) == expected


async def test_first_increment_creates_its_documents_from_their_bases(cosmos, cosmos_proxy, fresh_tenant):
    pk, doc_id, base = counter(fresh_tenant)
    await asyncio.gather(*(cosmos.increment(pk, completion(doc_id, {"f0": 1, "f1": 2}, base, True))
                           for _ in range(4)))  # racing creates: each document is created once, counts kept
    assert await counted(cosmos, pk, doc_id, {"f0": 1, "f1": 2}, True) == {"f0": 4, "f1": 8, "minute_0001": 4}
    assert (await cosmos.read(pk, f"{doc_id}.day"))["type"] == "counters_day"


# Every write from the `healthy`-th on fails for good: whatever fails, a call counts all its fields or none.
@pytest.mark.parametrize("fields", [3, 17])
@pytest.mark.parametrize("healthy", [0, 1, 2])
async def test_an_increment_counts_all_its_fields_or_none(cosmos, cosmos_proxy, fresh_tenant, fields, healthy):
    pk, doc_id, base = counter(fresh_tenant)
    await cosmos.increment(pk, completion(doc_id, {"f0": 1}, base, True))
    deltas = {f"f{i}": 1 for i in range(fields)}
    writes: list[str] = []

    def failing(method: str, path: str) -> bool:
        if not is_write(method, path):
            return False
        writes.append(path)
        return len(writes) > healthy

    cosmos_proxy.faults.inject("503", count=10_000, match=failing)
    try:
        await cosmos.increment(pk, completion(doc_id, deltas, base, True))
        landed = True
    except DependencyUnavailable:
        landed = False
    cosmos_proxy.faults.clear()
    once = {k: 1 + (k == "f0") for k in deltas} | {"minute_0001": 2}
    assert await counted(cosmos, pk, doc_id, deltas, True) == (once if landed else {
        k: 1 if k in ("f0", "minute_0001") else None for k in once})
    assert landed is (healthy > 0)
    if not landed:  # the retry counts everything once
        await cosmos.increment(pk, completion(doc_id, deltas, base, True))
        assert await counted(cosmos, pk, doc_id, deltas, True) == once


# `reset_after` applies the batch and loses its answer; the re-send must fail on the batch's receipt (409) and
# roll back instead of counting again, for a patch (3 fields) and a replace (17).
@pytest.mark.parametrize("with_day", [False, True])
@pytest.mark.parametrize("fields", [3, 17])
@pytest.mark.parametrize("kind", ["reset", "reset_after", "503"])
async def test_an_increment_counts_exactly_once_when_its_answer_is_lost(cosmos, cosmos_proxy, fresh_tenant,
                                                                        fields, kind, with_day):
    pk, doc_id, base = counter(fresh_tenant)
    await cosmos.increment(pk, completion(doc_id, {"f0": 1}, base, with_day))
    deltas = {f"f{i}": 1 for i in range(fields)}
    cosmos_proxy.faults.inject(kind, count=1, match=is_write)
    await cosmos.increment(pk, completion(doc_id, deltas, base, with_day))
    assert cosmos_proxy.faults.injected == 1
    expected = {k: 1 + (k == "f0") for k in deltas} | ({"minute_0001": 2} if with_day else {})
    assert await counted(cosmos, pk, doc_id, deltas, with_day) == expected


# A re-send after OTHER completions of the tenant landed (they rewrite every counter document) still counts once:
# the receipt, not a marker on the documents, says the batch landed (found in review: a last-increment marker
# was overwritten by the next completion, so the re-sent patches passed their condition and counted twice).
@pytest.mark.parametrize("with_day", [False, True])
@pytest.mark.parametrize("fields", [3, 17])
async def test_a_resend_counts_once_after_other_increments_landed(cosmos, fresh_tenant, fields, with_day):
    pk, doc_id, base = counter(fresh_tenant)
    deltas = {f"f{i}": 1 for i in range(fields)}
    await cosmos.increment(pk, completion(doc_id, deltas, base, with_day))
    updates = completion(doc_id, deltas, base, with_day)
    bases = {u.doc_id: {**u.base, "id": u.doc_id} for u in updates}
    mark = uuid.uuid4().hex
    first = await cosmos.counters.send_once(pk, updates, bases, mark)  # lands; its answer "lost"
    for _ in range(2):
        await cosmos.increment(pk, completion(doc_id, deltas, base, with_day))  # other completions land
    again = await cosmos.counters.send_once(pk, updates, bases, mark)  # the caller's re-send
    assert (first, again) == ("applied", "applied")
    assert await counted(cosmos, pk, doc_id, deltas, with_day) == \
        {k: 4 for k in deltas} | ({"minute_0001": 4} if with_day else {})


async def test_concurrent_wide_increments_all_land(cosmos, fresh_tenant):
    pk, doc_id, base = counter(fresh_tenant)
    deltas = {f"f{i}": 1 for i in range(17)}
    await asyncio.gather(*(cosmos.increment(pk, completion(doc_id, deltas, base, True)) for _ in range(10)))
    assert await counted(cosmos, pk, doc_id, deltas, True) == {k: 10 for k in deltas} | {"minute_0001": 10}


async def test_request_charges_reach_the_meter_of_the_task_that_spent_them(cosmos, cosmos_proxy, fresh_tenant):
    pk = (fresh_tenant, "u1")
    await cosmos.write_set(pk, [{"id": f"d{i}", "type": "agent", "tenantId": pk[0], "userId": pk[1]}
                                for i in range(3)])
    cosmos_proxy.response_headers["x-ms-request-charge"] = "2.5"

    async def reads(n: int) -> request_charge.Meter:
        meter = request_charge.start()
        for i in range(n):
            await cosmos.read(pk, f"d{i % 3}")
        return meter

    since = len(cosmos_proxy.requests)
    outside = request_charge.start()
    first, second = await asyncio.gather(reads(3), reads(7))
    assert (first.total, first.responses) == (7.5, 3)
    assert (second.total, second.responses) == (17.5, 7)
    assert outside.total == 0  # the tasks' meters, not the caller's
    assert len(cosmos_proxy.requests) - since == 10


# (header value, the charge it means): a header that is not a finite, non-negative number adds nothing.
CHARGES = [("1", 1.0), ("2.57", 2.57), ("0", 0.0), ("", None), ("abc", None), ("nan", None), ("inf", None),
           ("-1", None), (None, None), ("1e3", 1000.0)]


@pytest.mark.parametrize("header,charge", CHARGES)
def test_the_request_charge_header_is_read_strictly(header, charge):
    assert request_charge.parse(header) == charge


@given(st.one_of(st.none(), st.text(max_size=40)))
def test_any_header_value_parses_to_a_finite_charge_or_nothing(header):
    charge = request_charge.parse(header)
    assert charge is None or (math.isfinite(charge) and charge >= 0)


async def test_a_migration_reports_its_request_charge_and_the_metrics_carry_it(emulator_env, cosmos_proxy, tmp_path):
    suffix = uuid.uuid4().hex[:10]
    settings = settings_from({**dev_env(tmp_path / "data"), **emulator_env,
                              "COSMOS": cosmos_connection_string(cosmos_proxy.port),
                              "COSMOS_CONTAINER": f"c{suffix}", "BACKUP_CONTAINER": f"b{suffix}"})
    services = app_services.build(settings)
    try:
        await services.ports.documents.health()
        cosmos_proxy.response_headers["x-ms-request-charge"] = "1.25"
        tenant = f"t-{suffix}"
        results = []
        for user in ("u1", "u2"):
            since = len(cosmos_proxy.requests)
            results.append(await services.migration.migrate(tenant, user, {
                "theme": '"dark"', f"ai_agents_{tenant}": '[{"id": "a1"}, {"id": "a2"}]'}))
            spent = len(cosmos_proxy.requests) - since
            # every Cosmos answer of the attempt up to its completion; the counter updates come after
            assert 0 < results[-1]["request_charge"] / 1.25 < spent
            assert results[-1]["request_charge"] / 1.25 == int(results[-1]["request_charge"] / 1.25)
        dashboard = await services.ops.compute_metrics()
        expected = round(sum(r["request_charge"] for r in results) / 2, 2)
        assert dashboard["performance_metrics"]["request_charge_per_migration"] == expected
    finally:
        await services.close()


# Every send is applied and its answer lost, until the SDK gives up and our retry sends again: that re-send is
# a new operations list (the SDK pops each operation's options out of the list it formats), and it finds the
# batch applied from its receipt.
@pytest.mark.parametrize("lost", [2, 3, 5])
async def test_our_resend_of_a_batch_keeps_its_conditions(cosmos, cosmos_proxy, fresh_tenant, lost):
    pk, doc_id, base = counter(fresh_tenant)
    await cosmos.increment(pk, completion(doc_id, {"f0": 1}, base, True))
    since = len(cosmos_proxy.requests)
    cosmos_proxy.faults.inject("reset_after", count=lost, match=is_write)
    try:
        await cosmos.increment(pk, completion(doc_id, {"f0": 1, "f1": 1}, base, True))
    except DependencyUnavailable:
        pass  # every send lost: the caller cannot know, but the batch landed once
    sends = [r for r in cosmos_proxy.requests[since:] if is_write(r[0], r[1])]
    assert await counted(cosmos, pk, doc_id, {"f0": 1, "f1": 1}, True) == {"f0": 2, "f1": 1, "minute_0001": 2}, sends
