"""pytest plugin (loaded by tests.support.emulators): the three Azure adapters built against the emulators, one
set per test (aio clients belong to the test's event loop), from `emulator_env` exactly as the composition root
reads settings from the environment. Fixtures: azure_documents, azure_backups, azure_secrets, fresh_tenant."""
from __future__ import annotations

import uuid

import pytest
import pytest_asyncio

from shared.azure_common import RetryPolicy
from shared.blob_backups import BlobBackupStore
from shared.cosmos_store import CosmosDocumentStore
from shared.keyvault_secrets import KeyVaultSecretStore
from shared.settings import Settings

# Fast but real retry budget for tests: same code paths, millisecond waits.
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.02, max_delay=2.0, deadline=15.0)


def settings_from(env: dict[str, str], **overrides: str) -> Settings:
    return Settings(**{**env, **overrides})


@pytest.fixture
def fresh_tenant() -> str:
    """A tenant id of this test only: tests share one container and stay out of each other's data."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture
async def azure_documents(emulator_env):
    store = CosmosDocumentStore.from_settings(settings_from(emulator_env), retry=FAST_RETRY)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def azure_backups(emulator_env):
    store = BlobBackupStore.from_settings(settings_from(emulator_env), retry=FAST_RETRY)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def azure_secrets(emulator_env):
    store = KeyVaultSecretStore.from_settings(settings_from(emulator_env), retry=FAST_RETRY)
    yield store
    await store.close()
