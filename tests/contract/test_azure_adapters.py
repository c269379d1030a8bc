"""Behaviour specific to the Azure adapters, against the emulators (Cosmos stand-in, Azurite, Key Vault stand-in).

The port-level contract (same tests for embedded and Azure adapters) lives elsewhere; here: the container layout,
partition fencing despite the stand-in's quirks, Key Vault versions and soft delete, write-once blobs.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import pytest
from azure.cosmos.aio import CosmosClient

from shared.cosmos_layout import INDEXING_POLICY, PARTITION_KEY_PATHS
from shared.counter_updates import CounterUpdate
from shared.keyvault_secrets import KeyVaultSecretStore, _LocalStandInCredential
from shared.ports import Conflict, NotFound, PreconditionFailed
from tests.support.azure_adapters import settings_from

pytestmark = pytest.mark.asyncio


def doc(pk, doc_id, doc_type="agent", **fields):
    return {"id": doc_id, "type": doc_type, "tenantId": pk[0], "userId": pk[1], **fields}


# ---- Cosmos ---------------------------------------------------------------------------------------
async def test_container_is_created_with_hierarchical_partition_key_and_indexing_policy(azure_documents, emulator_env):
    await azure_documents.health()  # first use creates database and container
    settings = settings_from(emulator_env)
    async with CosmosClient.from_connection_string(settings.cosmos_connection, connection_verify=False) as client:
        props = await client.get_database_client(settings.cosmos_database) \
            .get_container_client(settings.cosmos_container).read()
    assert props["partitionKey"]["paths"] == PARTITION_KEY_PATHS
    assert props["partitionKey"]["kind"] == "MultiHash"
    assert props["partitionKey"]["version"] == 2
    assert {p["path"] for p in props["indexingPolicy"]["excludedPaths"]} >= {"/*"}
    assert {p["path"] for p in props["indexingPolicy"]["includedPaths"]} == \
        {p["path"] for p in INDEXING_POLICY["includedPaths"]}


async def test_queries_never_leak_other_partitions(azure_documents, fresh_tenant):
    # Distinct ids on purpose: the stand-in keeps ids unique per TENANT only (first key component), so the same
    # id under two users of one tenant would overwrite each other there (real Cosmos: unique per full key).
    other_tenant = fresh_tenant + "-other"
    mine, same_user_other_tenant = (fresh_tenant, "u1"), (other_tenant, "u1")
    await azure_documents.write_set(mine, [doc(mine, "a-mine"), doc(mine, "p-mine", "preferences")])
    await azure_documents.write_set(same_user_other_tenant, [doc(same_user_other_tenant, "a-theirs"),
                                                          doc(same_user_other_tenant, "p-theirs", "preferences")])

    listed = await azure_documents.list_partition(mine)
    assert sorted(d["id"] for d in listed) == ["a-mine", "p-mine"]
    assert all((d["tenantId"], d["userId"]) == mine and d["_etag"] for d in listed)
    assert [d["id"] for d in await azure_documents.list_partition(mine, ["preferences"])] == ["p-mine"]
    assert await azure_documents.list_ids(mine, ["agent"]) == ["a-mine"]
    assert await azure_documents.list_ids(mine, []) == []
    assert await azure_documents.read(mine, "a-theirs") is None  # exists, but in another partition
    assert [d["id"] for d in await azure_documents.find("agent", tenant_id=fresh_tenant)] == ["a-mine"]
    both = {d["id"] for d in await azure_documents.find("agent", where={"userId": "u1"})}
    assert {"a-mine", "a-theirs"} <= both  # find is cross-partition by design (ops and timer only)


async def test_documents_for_another_partition_are_refused(azure_documents, fresh_tenant):
    pk = (fresh_tenant, "u1")
    with pytest.raises(ValueError):
        await azure_documents.write_set(pk, [doc(pk, "ok"), doc((fresh_tenant, "u2"), "wrong-user")])
    with pytest.raises(ValueError):
        await azure_documents.create(pk, doc((fresh_tenant + "x", "u1"), "wrong-tenant"))
    assert await azure_documents.list_partition(pk) == []  # validated before anything was written


async def test_read_of_missing_id_is_none_and_fast(azure_documents, fresh_tenant):
    await azure_documents.health()
    started = time.monotonic()
    assert await azure_documents.read((fresh_tenant, "u1"), "missing") is None
    assert time.monotonic() - started < 0.4  # a point read would cost the stand-in's 500 + SDK retry (~0.5 s)


async def test_create_replace_etag_semantics(azure_documents, fresh_tenant):
    pk = (fresh_tenant, "u1")
    created = await azure_documents.create(pk, doc(pk, "rec", "migration", status="in_progress", lease="L1"))
    assert created["_etag"] and created["status"] == "in_progress"
    assert set(created) == {"id", "type", "tenantId", "userId", "status", "lease", "_etag"}  # no _rid/_ts/...
    with pytest.raises(Conflict):
        await azure_documents.create(pk, doc(pk, "rec", "migration", status="in_progress", lease="L2"))

    replaced = await azure_documents.replace(pk, {**created, "status": "completed"}, created["_etag"])
    assert replaced["_etag"] != created["_etag"]
    with pytest.raises(PreconditionFailed):
        await azure_documents.replace(pk, {**created, "status": "failed", "lease": "L3"}, created["_etag"])
    with pytest.raises(NotFound):
        await azure_documents.replace(pk, doc(pk, "never"), created["_etag"])
    assert (await azure_documents.read(pk, "rec"))["status"] == "completed"


async def test_write_set_is_idempotent_and_deletes_missing_ids_quietly(azure_documents, fresh_tenant):
    pk = (fresh_tenant, "u1")
    docs = [doc(pk, f"m-{i:03d}", "chat_message", sequence_number=i) for i in range(60)]
    await azure_documents.write_set(pk, docs)
    await azure_documents.write_set(pk, docs, deletes=["m-000", "never-existed"])
    await azure_documents.write_set(pk, [], deletes=["m-000"])  # deleting again is fine
    ids = await azure_documents.list_ids(pk, ["chat_message"])
    assert sorted(ids) == [f"m-{i:03d}" for i in range(1, 60)]


async def test_find_filters_are_parameterised(azure_documents, fresh_tenant):
    a, b = (fresh_tenant, "u1"), (fresh_tenant, "u2")
    await azure_documents.write_set(a, [doc(a, "mig-a", "migration", status="completed")])
    await azure_documents.write_set(b, [doc(b, "mig-b", "migration", status="in_progress")])
    found = await azure_documents.find("migration", tenant_id=fresh_tenant, where={"status": "completed"})
    assert [d["id"] for d in found] == ["mig-a"]
    tricky = await azure_documents.find("migration", tenant_id=fresh_tenant, where={"status": "x' OR 1=1 --"})
    assert tricky == []
    with pytest.raises(ValueError):
        await azure_documents.find("migration", where={"status = 'x' OR c.id": "y"})


async def test_find_orders_limits_and_filters_on_indexed_fields(azure_documents, fresh_tenant):
    for i, when in enumerate(["2026-01-03", "2026-01-01", "2026-01-04", "2026-01-02"]):
        pk = (fresh_tenant, f"u{i}")
        await azure_documents.write_set(pk, [doc(pk, f"mig-{i}", "migration", status="completed", completedAt=when)])
    other = (fresh_tenant, "u-open")
    await azure_documents.write_set(other, [doc(other, "mig-open", "migration", status="in_progress")])
    found = await azure_documents.find("migration", tenant_id=fresh_tenant, where={"status": "completed"},
                                    greater_than=("completedAt", "2026-01-01"), order_by="completedAt", limit=2)
    assert [d["completedAt"] for d in found] == ["2026-01-02", "2026-01-03"]
    missing = await azure_documents.find("migration", tenant_id=fresh_tenant, where={"completedAt": None})
    assert [d["id"] for d in missing] == ["mig-open"]  # None matches a missing field, like SQL IS NULL


async def test_find_refuses_fields_real_cosmos_cannot_serve_from_the_index(azure_documents):
    # The stand-in ignores the indexing policy; real Cosmos refuses ORDER BY on an excluded path.
    with pytest.raises(ValueError, match="not indexed"):
        await azure_documents.find("migration", order_by="notIndexed")
    with pytest.raises(ValueError, match="not indexed"):
        await azure_documents.find("migration", greater_than=("notIndexed", 1))


async def test_count_per_type_in_one_partition(azure_documents, fresh_tenant):
    pk, elsewhere = (fresh_tenant, "u1"), (fresh_tenant, "u2")
    await azure_documents.write_set(pk, [doc(pk, f"a{i}") for i in range(3)] + [doc(pk, "m1", "chat_message")])
    await azure_documents.write_set(elsewhere, [doc(elsewhere, "a-else")])
    assert await azure_documents.count(pk, ["agent", "chat_message", "mcp_server"]) == \
        {"agent": 3, "chat_message": 1, "mcp_server": 0}


async def test_increment_is_atomic_and_creates_from_base(azure_documents, fresh_tenant):
    pk = (fresh_tenant, "_tenant")
    base = {"type": "counters", "tenantId": fresh_tenant, "userId": "_tenant", "schemaVersion": 1}
    many = {f"records_kind{i}": 1 for i in range(25)}  # more fields than one Cosmos patch may carry
    await asyncio.gather(*(azure_documents.increment(pk, [CounterUpdate("counters", {"attempts": 1, **many}, base)])
                           for _ in range(8)))
    stored = await azure_documents.read(pk, "counters")
    assert stored["attempts"] == 8 and all(stored[k] == 8 for k in many)
    assert stored["schemaVersion"] == 1 and "lastIncrementId" not in stored  # the exactly-once marker stays internal
    await azure_documents.increment(pk, [CounterUpdate("counters", {"duration_ms_sum": 12.5}, base)])
    assert (await azure_documents.read(pk, "counters"))["duration_ms_sum"] == 12.5


# ---- Blob -----------------------------------------------------------------------------------------
async def test_blob_write_is_write_once(azure_backups, fresh_tenant):
    path = f"{fresh_tenant}/u1/{uuid.uuid4()}.json"
    data = b'{"theme": "dark"}'
    first = await azure_backups.write(path, data, {"keyCount": "1", "tenantId": fresh_tenant})
    assert first.created and first.size == len(data) and first.sha256 == hashlib.sha256(data).hexdigest()
    again = await azure_backups.write(path, data, {"keyCount": "1", "tenantId": fresh_tenant})
    assert not again.created and again.sha256 == first.sha256
    with pytest.raises(Conflict):
        await azure_backups.write(path, b'{"theme": "light"}', {})
    assert await azure_backups.read(path) == data  # never overwritten
    assert await azure_backups.list(f"{fresh_tenant}/") == [path]
    assert await azure_backups.read(f"{fresh_tenant}/u1/missing.json") is None


async def test_blob_metadata_must_be_ascii(azure_backups, fresh_tenant):
    with pytest.raises(ValueError):
        await azure_backups.write(f"{fresh_tenant}/x.json", b"{}", {"note": "café"})
    with pytest.raises(ValueError):
        await azure_backups.write(f"{fresh_tenant}/x.json", b"{}", {"not-an-identifier": "x"})
    assert await azure_backups.list(f"{fresh_tenant}/") == []


# ---- Key Vault ------------------------------------------------------------------------------------
async def test_unchanged_secret_writes_no_new_version(azure_secrets, emulators):
    name = f"s-{uuid.uuid4().hex}"
    assert (await azure_secrets.set(name, "sk-one", {"tenant": "t1"})).created is True
    assert (await azure_secrets.set(name, "sk-one", {"tenant": "t1"})).created is False
    assert emulators.keyvault.versions(name) == 1
    assert (await azure_secrets.set(name, "sk-two")).created is True
    assert emulators.keyvault.versions(name) == 2
    assert await azure_secrets.get(name) == "sk-two"
    assert await azure_secrets.get(f"missing-{uuid.uuid4().hex}") is None


async def test_soft_deleted_secret_is_recovered_then_written(azure_secrets, emulators):
    kv = emulators.keyvault
    name = f"s-{uuid.uuid4().hex}"
    await azure_secrets.set(name, "v1")
    kv.soft_delete(name)
    assert await azure_secrets.get(name) is None  # Key Vault hides soft-deleted secrets
    assert (await azure_secrets.set(name, "v1")).created is False  # recovered, value unchanged: no new version
    assert not kv.is_deleted(name) and kv.versions(name) == 1
    kv.soft_delete(name)
    assert (await azure_secrets.set(name, "v2")).created is True  # recovered, then the new value written
    assert kv.versions(name) == 2 and await azure_secrets.get(name) == "v2"


@pytest.mark.parametrize("name", ["", "has_underscore", "dots.no", "a" * 128, "ümlaut"])
async def test_invalid_secret_names_are_refused(azure_secrets, name):
    with pytest.raises(ValueError):
        await azure_secrets.set(name, "v")
    with pytest.raises(ValueError):
        await azure_secrets.get(name)


async def test_static_token_only_for_a_local_vault(emulator_env):
    local = KeyVaultSecretStore.from_settings(settings_from(emulator_env))
    remote = KeyVaultSecretStore.from_settings(settings_from(
        emulator_env, KEY_VAULT__vaultUri="https://example-vault.vault.azure.net/", KEY_VAULT_VERIFY_TLS="true"))
    try:
        assert isinstance(local._credential, _LocalStandInCredential)  # noqa: SLF001 - which credential is private
        assert not isinstance(remote._credential, _LocalStandInCredential)  # noqa: SLF001
    finally:
        await local.close()
        await remote.close()
    with pytest.raises(ValueError):
        KeyVaultSecretStore.from_settings(settings_from(emulator_env, WEBSITE_INSTANCE_ID="prod-instance"))


async def test_health_of_all_three(azure_documents, azure_backups, azure_secrets):
    await azure_documents.health()
    await azure_backups.health()
    await azure_secrets.health()
