"""The export (the seed's rollback package): a user's stored data read back and its localStorage rebuilt;
during a tenant's emergency rollback, the export marks the user rolled back."""
from __future__ import annotations

import asyncio

from migration.domain import errors, exporter, merge_plan
from migration.domain.naming import iso, record_id
from migration.domain.planner import DATA_TYPES
from migration.domain.records import MigrationRecord
from migration.services.service_context import ServiceContext
from migration.services.tenant_counters import TenantCounters
from migration.services.tenant_gate import tenant_state
from shared.concurrency import bounded
from shared.ports import PreconditionFailed


async def read_stored(ctx: ServiceContext, pk: tuple[str, str]) -> tuple[list[dict], dict[str, str]]:
    """A user's documents and every secret they reference (as export reads them)."""
    docs = await ctx.ports.documents.list_partition(pk, DATA_TYPES)
    names = sorted(exporter.secret_names(docs))
    values = await bounded(ctx.settings.secret_concurrency, names, ctx.ports.secrets.get)
    missing = [n for n, v in zip(names, values, strict=True) if v is None]
    if missing:
        raise errors.ServiceError("EXPORT_INCOMPLETE", f"{len(missing)} secret(s) could not be read back")
    return docs, dict(zip(names, values, strict=True))


async def export(ctx: ServiceContext, counts: TenantCounters, tenant: str, user: str) -> dict:
    pk = (tenant, user)
    record, state = await asyncio.gather(ctx.ports.documents.read(pk, record_id(pk[1])), tenant_state(ctx, tenant))
    if not MigrationRecord.read(record).ever_completed:
        raise errors.not_migrated()
    docs, secrets = await read_stored(ctx, pk)
    data = await asyncio.to_thread(exporter.rebuild, docs, secrets)
    conflicts = await asyncio.to_thread(merge_plan.copies_for_export, docs, secrets)
    rollback = bool(state.get("rollbackActive"))
    if rollback and record["status"] == "completed":
        await _mark_rolled_back(ctx, counts, pk, record)
    return {"tenant_id": tenant, "user_id": user, "migration_id": record.get("migrationId"),
            "rollback_data": data, "rollback_reason": "EMERGENCY_ROLLBACK" if rollback else "USER_EXPORT",
            "created_at": iso(ctx.clock()), "conflicts": conflicts}


async def _mark_rolled_back(ctx: ServiceContext, counts: TenantCounters, pk: tuple[str, str], record: dict) -> None:
    rolled = {**{k: v for k, v in record.items() if not k.startswith("_")}, "status": "rolled_back",
              "rolledBackAt": iso(ctx.clock())}
    try:
        await ctx.ports.documents.replace(pk, rolled, record["_etag"])
    except PreconditionFailed:
        return  # a concurrent export marked it first
    await counts.add(pk[0], {"rollbacks": 1})
