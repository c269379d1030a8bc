"""A user's first migration (no browser completed yet): under the lease and its heartbeat, secrets, then
the backup, then the documents; completed only once every write succeeded."""
from __future__ import annotations

import asyncio
import logging

from migration.domain import counters, planner
from migration.domain.naming import path_part
from migration.domain.planner import Plan
from migration.domain.planning import result as result_of
from migration.services.backups import Backups
from migration.services.lease import Lease
from migration.services.service_context import ServiceContext, elapsed_ms
from migration.services.tenant_counters import TenantCounters
from migration.services.writes import drop_unreferenced_secrets, write_documents, write_secrets
from shared import telemetry
from shared.request_charge import Meter

log = logging.getLogger("migration.service")  # the service's parts share one logger: log queries filter on it


async def _none() -> None:
    return None


class FirstMigration:
    def __init__(self, ctx: ServiceContext, lease: Lease, backups: Backups, counts: TenantCounters):
        self.ctx, self.lease, self.backups, self.counts = ctx, lease, backups, counts

    async def run(self, pk: tuple[str, str], existing: dict | None, plan: Plan, backup_requested: bool,
                  started: float, ru: Meter) -> dict:
        tenant = pk[0]
        lease = [await self.lease.acquire(pk, existing, plan)]  # the record, renewed (new etag) while we write
        # A new user is counted whatever becomes of the attempt, alongside the writes (never cancelled by them).
        first = asyncio.ensure_future(self.counts.add(tenant, {"users_started": 1}) if existing is None
                                      else _none())
        try:
            backup = await self.lease.while_leased(pk, lease, self._write_all(pk, lease, plan, backup_requested))
            result = result_of(plan, backup, elapsed_ms(started))
            await self.lease.complete(pk, lease[0], plan, result)
            result["request_charge"] = round(ru.total, 2)
        except Exception as e:
            await self.lease.fail(pk, lease[0], e)
            raise
        finally:
            await first
        await self.counts.add(tenant, counters.completion(
            plan.summary, result["duration_ms"], backup is not None,
            [k.reason or "" for k in plan.keys if k.disposition is planner.Disposition.QUARANTINED])
            | {"request_charge_sum": result["request_charge"]}, per_minute=True)
        telemetry.migration_finished("completed", result["duration_ms"])
        log.info("migration completed tenant=%s user=%s id=%s keys=%d docs=%d ms=%d", path_part(tenant),
                 path_part(pk[1]), plan.migration_id, len(plan.keys), len(plan.documents), result["duration_ms"])
        return result

    async def _write_all(self, pk: tuple[str, str], lease: list[dict], plan: Plan,
                         backup_requested: bool) -> dict | None:
        # Secrets first: the backup names the version of each secret it references, so it is written once
        # those are known, and still before any document changes. A changed value is a new version under
        # the same name, so the previous backup keeps reading the version it named.
        versions = await write_secrets(self.ctx, plan)
        backup = await self.backups.write(plan, versions) if backup_requested else None
        await write_documents(self.ctx, pk, plan)
        await drop_unreferenced_secrets(self.ctx, pk, lease[0], plan)
        return backup
