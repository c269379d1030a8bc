"""Fixtures of the contract tests that put a fault proxy between the real SDK and an emulator."""
from __future__ import annotations

import pytest
import pytest_asyncio

from shared.blob_backups import BlobBackupStore
from shared.cosmos_store import CosmosDocumentStore
from tests.support.azure_adapters import FAST_RETRY, settings_from
from tests.support.emulators import blob_connection_string, cosmos_connection_string
from tests.support.fault_proxy import FaultProxy


# ---- fixtures: proxies in front of the emulators, adapters built from settings that point at them ----------
@pytest.fixture(scope="session")
def cosmos_proxy(emulators):
    with FaultProxy(emulators.cosmos.port, tls=True) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def blob_proxy(emulators):
    with FaultProxy(emulators.azurite.port, tls=False) as proxy:
        yield proxy


@pytest.fixture(autouse=True)
def fresh_faults(request):
    if not {"emulators", "cosmos_proxy", "blob_proxy"} & set(request.fixturenames):
        yield  # a test without emulators (the embedded and memory stacks) starts none
        return
    plans = [request.getfixturevalue("emulators").keyvault.faults] + [
        request.getfixturevalue(name).faults for name in ("cosmos_proxy", "blob_proxy") if name in request.fixturenames]
    for plan in plans:
        plan.clear()
    for name in ("cosmos_proxy", "blob_proxy"):
        if name in request.fixturenames:
            request.getfixturevalue(name).response_headers.clear()
    yield
    for plan in plans:
        plan.clear()


@pytest_asyncio.fixture
async def cosmos(emulator_env, cosmos_proxy):
    store = CosmosDocumentStore.from_settings(
        settings_from(emulator_env, COSMOS=cosmos_connection_string(cosmos_proxy.port)), retry=FAST_RETRY)
    await store.health()  # container ensured before faults are armed
    yield store
    await store.close()


@pytest_asyncio.fixture
async def blobs(emulator_env, blob_proxy):
    store = BlobBackupStore.from_settings(
        settings_from(emulator_env, BACKUP_STORAGE=blob_connection_string(blob_proxy.port)), retry=FAST_RETRY)
    await store.health()
    yield store
    await store.close()
