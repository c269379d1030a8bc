"""Transport faults on each Azure adapter: transient ones are absorbed without duplicates, persistent ones end
cleanly in DependencyUnavailable (the service turns it into 503 + Retry-After).

Faults are injected between the real SDK and the emulator: an HTTP(S) proxy in front of the Cosmos stand-in and
Azurite, and the Key Vault stand-in's own fault switch. Kinds: 429 / 503 with Retry-After, connection reset
before the server sees the request, and reset AFTER the server applied it (the answer is lost: the ambiguous
case that duplicates writes when retried naively).
"""
from __future__ import annotations

import time
import uuid

import pytest

from shared.blob_backups import BlobBackupStore
from shared.cosmos_store import CosmosDocumentStore
from shared.counter_updates import CounterUpdate
from shared.keyvault_secrets import KeyVaultSecretStore
from shared.ports import DependencyUnavailable
from tests.support.azure_adapters import FAST_RETRY, settings_from
from tests.support.emulators import blob_connection_string, cosmos_connection_string, free_port

pytestmark = pytest.mark.asyncio

TRANSIENT = ["429", "503", "reset"]


def docs_path(method: str, path: str) -> bool:
    return "/docs" in path  # document operations and queries, not account/container metadata


def is_put(method: str, path: str) -> bool:
    return method == "PUT"


def doc(pk, doc_id, **fields):
    return {"id": doc_id, "type": "agent", "tenantId": pk[0], "userId": pk[1], **fields}


# ---- Cosmos ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TRANSIENT)
async def test_cosmos_write_set_survives_transient_faults(cosmos, cosmos_proxy, fresh_tenant, kind):
    pk = (fresh_tenant, "u1")
    cosmos_proxy.faults.inject(kind, count=3, match=docs_path)
    await cosmos.write_set(pk, [doc(pk, f"a{i}") for i in range(10)])
    assert cosmos_proxy.faults.injected >= 3
    assert sorted(await cosmos.list_ids(pk, ["agent"])) == sorted(f"a{i}" for i in range(10))


@pytest.mark.parametrize("kind", TRANSIENT)
async def test_cosmos_read_and_query_survive_transient_faults(cosmos, cosmos_proxy, fresh_tenant, kind):
    pk = (fresh_tenant, "u1")
    await cosmos.write_set(pk, [doc(pk, "a1")])
    cosmos_proxy.faults.inject(kind, count=2, match=docs_path)
    assert (await cosmos.read(pk, "a1"))["id"] == "a1"
    cosmos_proxy.faults.inject(kind, count=2, match=docs_path)
    assert [d["id"] for d in await cosmos.find("agent", tenant_id=fresh_tenant)] == ["a1"]


@pytest.mark.parametrize("kind", TRANSIENT + ["reset_after"])
async def test_cosmos_create_and_replace_apply_exactly_once(cosmos, cosmos_proxy, fresh_tenant, kind):
    pk = (fresh_tenant, "u1")
    cosmos_proxy.faults.inject(kind, count=1, match=lambda m, p: m == "POST" and p.rstrip("/").endswith("/docs"))
    created = await cosmos.create(pk, doc(pk, "lease", lease=str(uuid.uuid4())))  # no Conflict with itself
    assert len(await cosmos.list_partition(pk)) == 1

    cosmos_proxy.faults.inject(kind, count=1, match=lambda m, p: m == "PUT" and "/docs/" in p)
    replaced = await cosmos.replace(pk, {**created, "lease": str(uuid.uuid4())}, created["_etag"])
    stored = await cosmos.list_partition(pk)
    assert [d["lease"] for d in stored] == [replaced["lease"]]  # not PreconditionFailed by its own write
    assert cosmos_proxy.faults.injected >= 2


@pytest.mark.parametrize("kind", ["429", "503", "reset"])
async def test_cosmos_persistent_faults_end_in_dependency_unavailable(cosmos, cosmos_proxy, fresh_tenant, kind):
    pk = (fresh_tenant, "u1")
    cosmos_proxy.faults.inject(kind, count=10_000, match=docs_path)
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        await cosmos.write_set(pk, [doc(pk, f"a{i}") for i in range(5)])
    assert caught.value.retry_after >= 1
    with pytest.raises(DependencyUnavailable):
        await cosmos.read(pk, "a0")
    assert time.monotonic() - started < 30
    assert fresh_tenant not in str(caught.value) and "a0" not in str(caught.value)  # no ids or bodies in the message


@pytest.mark.parametrize("kind", TRANSIENT + ["reset_after"])
async def test_cosmos_increment_counts_exactly_once(cosmos, cosmos_proxy, fresh_tenant, kind):
    pk = (fresh_tenant, "_tenant")
    base = {"type": "counters", "tenantId": fresh_tenant, "userId": "_tenant"}
    # An id of this test only: the stand-in evaluates a patch's condition on the first document with that id in
    # ANY partition, so other tests' "counters" documents would decide ours (real Cosmos stays in the partition).
    counter_id = f"counters-{uuid.uuid4().hex[:8]}"
    cosmos_proxy.faults.inject(kind, count=1, match=lambda m, p: m == "POST" and p.rstrip("/").endswith("/docs"))
    await cosmos.increment(pk, [CounterUpdate(counter_id, {"attempts": 1}, base)])  # creates the document
    cosmos_proxy.faults.inject(kind, count=1, match=lambda m, p: m == "POST" and p.rstrip("/").endswith("/docs"))
    await cosmos.increment(pk, [CounterUpdate(counter_id, {"attempts": 1, "completions": 1}, base)])  # the batch
    stored = await cosmos.read(pk, counter_id)
    assert (stored["attempts"], stored["completions"]) == (2, 1)
    assert cosmos_proxy.faults.injected == 2


# ---- Blob -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TRANSIENT + ["reset_after"])
async def test_blob_write_survives_transient_faults_without_duplicates(blobs, blob_proxy, fresh_tenant, kind):
    path = f"{fresh_tenant}/u1/{uuid.uuid4()}.json"
    blob_proxy.faults.inject(kind, count=2 if kind != "reset_after" else 1, match=is_put)
    info = await blobs.write(path, b'{"k": "v"}', {"keyCount": "1"})
    assert info.created == (kind != "reset_after")  # after a lost answer the retry finds its own bytes
    blob_proxy.faults.inject(kind if kind != "reset_after" else "reset", count=2, match=lambda m, p: m == "GET")
    assert await blobs.read(path) == b'{"k": "v"}'
    assert await blobs.list(f"{fresh_tenant}/") == [path]


async def test_blob_throttling_honours_retry_after(blobs, blob_proxy, fresh_tenant):
    # Storage's own policy ignores 429 and Retry-After; ours waits what the service asked for.
    blob_proxy.faults.inject("429", count=2, retry_after=0.3, match=is_put)
    started = time.monotonic()
    await blobs.write(f"{fresh_tenant}/x.json", b"{}", {})
    assert time.monotonic() - started >= 0.6


@pytest.mark.parametrize("kind", ["503", "reset"])
async def test_blob_persistent_faults_end_in_dependency_unavailable(blobs, blob_proxy, fresh_tenant, kind):
    blob_proxy.faults.inject(kind, count=10_000)
    with pytest.raises(DependencyUnavailable):
        await blobs.write(f"{fresh_tenant}/x.json", b"{}", {})
    with pytest.raises(DependencyUnavailable):
        await blobs.read(f"{fresh_tenant}/x.json")


# ---- Key Vault ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TRANSIENT + ["reset_after"])
async def test_keyvault_set_survives_transient_faults_with_one_version(azure_secrets, emulators, kind):
    kv, name = emulators.keyvault, f"s-{uuid.uuid4().hex}"
    kv.faults.inject(kind, count=2 if kind != "reset_after" else 1, match=is_put)
    assert (await azure_secrets.set(name, "sk-value")).created is True
    assert kv.versions(name) == 1  # a lost answer is read back, not written again
    kv.faults.inject(kind if kind != "reset_after" else "reset", count=2, match=lambda m, p: m == "GET")
    assert await azure_secrets.get(name) == "sk-value"
    assert (await azure_secrets.set(name, "sk-value")).created is False and kv.versions(name) == 1


@pytest.mark.parametrize("kind", TRANSIENT + ["reset_after"])
async def test_keyvault_delete_survives_transient_faults(azure_secrets, emulators, kind):
    kv, name = emulators.keyvault, f"s-{uuid.uuid4().hex}"
    first = await azure_secrets.set(name, "sk-value")
    kv.faults.inject(kind, count=2 if kind != "reset_after" else 1, match=lambda m, p: m == "DELETE")
    # A lost answer (reset_after) is retried and finds nothing live: False, but the name is deleted.
    assert await azure_secrets.delete(name) is (kind != "reset_after")
    assert kv.is_deleted(name) and await azure_secrets.get(name) is None
    assert await azure_secrets.get(name, first.version) is None
    assert await azure_secrets.delete(name) is False


@pytest.mark.parametrize("kind", ["429", "503", "reset"])
async def test_keyvault_persistent_faults_end_in_dependency_unavailable(azure_secrets, emulators, kind):
    kv, name = emulators.keyvault, f"s-{uuid.uuid4().hex}"
    kv.faults.inject(kind, count=10_000)
    with pytest.raises(DependencyUnavailable) as caught:
        await azure_secrets.set(name, "sk-secret-value")
    assert "sk-secret-value" not in str(caught.value)
    with pytest.raises(DependencyUnavailable):
        await azure_secrets.get(name)
    kv.faults.clear()
    assert kv.versions(name) == 0


async def test_long_retry_after_fails_fast_and_is_passed_on(azure_secrets, emulators):
    # A pause longer than an HTTP request can wait: give up now, tell the caller when to come back.
    emulators.keyvault.faults.inject("429", count=10_000, retry_after=60)
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        await azure_secrets.get("any-name")
    assert time.monotonic() - started < 2
    assert caught.value.retry_after == pytest.approx(60)


# ---- nothing listening at all ----------------------------------------------------------------------
async def test_unreachable_services_are_dependency_unavailable(emulator_env):
    port = free_port()  # nothing listens here
    settings = settings_from(emulator_env, COSMOS=cosmos_connection_string(port),
                             BACKUP_STORAGE=blob_connection_string(port),
                             KEY_VAULT__vaultUri=f"https://127.0.0.1:{port}/")
    for make in (CosmosDocumentStore.from_settings, BlobBackupStore.from_settings,
                 KeyVaultSecretStore.from_settings):
        store = make(settings, retry=FAST_RETRY)
        try:
            with pytest.raises(DependencyUnavailable):
                await store.health()
        finally:
            await store.close()
