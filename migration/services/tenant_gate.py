"""The tenant gate a migration passes: the tenant's emergency rollback and its staged rollout."""
from __future__ import annotations

from migration.domain.naming import TENANT_STATE_ID
from migration.domain.records import TenantState
from migration.services.service_context import ServiceContext
from shared.cosmos_layout import TENANT_LEVEL_USER


async def tenant_state(ctx: ServiceContext, tenant: str) -> dict:
    return await ctx.ports.documents.read((tenant, TENANT_LEVEL_USER), TENANT_STATE_ID) or {}


def migration_enabled(ctx: ServiceContext, tenant: str, state: dict) -> bool:
    return TenantState.read(state).migration_enabled(tenant, ctx.settings.rollout_all, ctx.settings.rollout_list)
