"""Fixtures building the three Azure adapters against the emulators (one set per test: aio clients belong to the
test's event loop). Used by tests/contract/test_azure_*.py; settings come from `emulator_env` exactly as the
composition root would read them from the environment."""
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
def tenant() -> str:
    """A tenant id of this test only: tests share one container and stay out of each other's data."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture
async def cosmos_store(emulator_env):
    store = CosmosDocumentStore.from_settings(settings_from(emulator_env), retry=FAST_RETRY)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def blob_store(emulator_env):
    store = BlobBackupStore.from_settings(settings_from(emulator_env), retry=FAST_RETRY)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def secret_store(emulator_env):
    store = KeyVaultSecretStore.from_settings(settings_from(emulator_env), retry=FAST_RETRY)
    yield store
    await store.close()
