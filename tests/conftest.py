"""Fixtures shared by every layer. `stack` runs a test once per adapter set: embedded, and the emulators."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from migration import app_services
from shared.settings import Settings

from .helpers import dev_env, settings_from, token

pytest_plugins = ["tests.support.emulators"]
STACKS = ["embedded", "emulators"]


@dataclass
class Stack:
    kind: str
    settings: Settings
    services: app_services.Services

    def token(self, tenant: str = "contoso", user: str = "user-1", roles: list[str] | None = None) -> str:
        return token(self.settings, tenant, user, roles)


def stack_env(request: pytest.FixtureRequest, kind: str, tmp_path, **extra: str) -> dict[str, str]:
    env = dev_env(tmp_path / "data", **extra)
    if kind == "emulators":
        env.update(request.getfixturevalue("emulator_env"))
        # A container of each kind per test: tests reuse tenant and user names.
        suffix = uuid.uuid4().hex[:10]
        env.update(COSMOS_CONTAINER=f"c{suffix}", BACKUP_CONTAINER=f"b{suffix}")
    return env


@contextlib.asynccontextmanager
async def serving(kind: str, settings: Settings) -> AsyncIterator[Stack]:
    """The app's services built from `settings` and used by the registered functions, closed afterwards."""
    services = app_services.build(settings)
    app_services.use(services)
    try:
        yield Stack(kind, settings, services)
    finally:
        app_services.use(None)
        await services.close()


@pytest_asyncio.fixture(params=STACKS)
async def stack(request, tmp_path):
    async with serving(request.param, settings_from(stack_env(request, request.param, tmp_path))) as s:
        yield s
