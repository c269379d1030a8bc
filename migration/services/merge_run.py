"""One browser's data merged into a completed user (README "Browsers and merge"), and the comparison of
sent data with what is stored (preview, the 409's `unsaved_keys`). A merge runs under the same lease and
heartbeat as a migration, writes only what changed and removes only superseded versions."""
from __future__ import annotations

import asyncio
import logging

from migration.domain import counters, errors, merge as merging, merge_items, merge_plan, planner
from migration.domain.naming import path_part
from migration.domain.planner import Plan
from migration.domain.planning import limits, result as result_of
from migration.services.backups import Backups
from migration.services.export_package import read_stored
from migration.services.lease import Lease
from migration.services.service_context import ServiceContext, elapsed_ms
from migration.services.tenant_counters import TenantCounters
from migration.services.writes import drop_unreferenced_secrets, write_secrets
from shared import telemetry
from shared.request_charge import Meter

log = logging.getLogger("migration.service")  # the service's parts share one logger: log queries filter on it


class MergeRun:
    def __init__(self, ctx: ServiceContext, lease: Lease, backups: Backups, counts: TenantCounters):
        self.ctx, self.lease, self.backups, self.counts = ctx, lease, backups, counts

    async def compare(self, pk: tuple[str, str], own: Plan, data: dict[str, str]) -> list[merge_items.KeyOutcome]:
        """Each sent key that would be stored, against what is stored. Writes nothing."""
        docs, secrets = await read_stored(self.ctx, pk)

        def compare() -> list[merge_items.KeyOutcome]:
            state = merge_plan.load(pk[0], docs, secrets)
            return merging.merge(state, merge_plan.incoming(own, data, pk[0]), own.browser_id, "preview")
        return await asyncio.to_thread(compare)

    async def run(self, pk: tuple[str, str], existing: dict, own: Plan, data: dict[str, str],
                  backup_requested: bool, started: float, ru: Meter) -> dict:
        tenant, user = pk
        mid = planner.migration_id_for(tenant, user, own.payload_sha256, own.browser_id, merge=True)
        lease = [await self.lease.acquire(pk, existing, own, migration_id=mid, names=(), merge=True)]
        try:
            backup, merged, outcomes = await self.lease.while_leased(
                pk, lease, self._merge_all(pk, lease, own, data, mid, backup_requested))
            result = result_of(own, backup, elapsed_ms(started))
            summary = merging.summary(outcomes)
            result.update(migration_id=mid, merge=summary)
            await self.lease.complete(pk, lease[0], merged, result)
            result["request_charge"] = round(ru.total, 2)
        except Exception as e:
            await self.lease.fail(pk, lease[0], e)
            raise
        new_browser = own.browser_id not in (existing.get("browsers") or {})
        await self.counts.add(tenant, counters.merged(summary["conflicts"], new_browser, backup is not None,
                                                      existing.get("status") == "rolled_back"), per_minute=True)
        telemetry.migration_finished("merged", result["duration_ms"])
        log.info("merge completed tenant=%s user=%s id=%s added=%d updated=%d conflicts=%d ms=%d",
                 path_part(tenant), path_part(user), mid, summary["added"], summary["updated"],
                 summary["conflicts"], result["duration_ms"])
        return result

    async def _merge_all(self, pk: tuple[str, str], lease: list[dict], own: Plan, data: dict[str, str], mid: str,
                         backup_requested: bool) -> tuple[dict | None, Plan, list[merge_items.KeyOutcome]]:
        tenant, user = pk
        docs, secrets = await read_stored(self.ctx, pk)  # read under the lease: no other merge writes meanwhile
        s = self.ctx.settings

        def compute() -> tuple[list[merge_items.KeyOutcome], Plan, list[dict]]:
            state = merge_plan.load(tenant, docs, secrets)
            outcomes = merging.merge(state, merge_plan.incoming(own, data, tenant), own.browser_id, mid)
            try:
                merged, copies = merge_plan.plan_state(
                    tenant, user, state, browser_id=own.browser_id, migration_id=mid,
                    max_document_bytes=s.max_document_bytes, limits=limits(s))
            except planner.PlanTooLarge as e:
                raise errors.too_large(e.code, e.what, e.limit, e.key) from None
            return outcomes, merged, copies
        outcomes, merged, copies = await asyncio.to_thread(compute)
        # The record lists every vault name this attempt may write before any is written (as a migration).
        names = sorted(set(lease[0].get("secretNames") or ()) | set(merged.secrets))
        if names != lease[0].get("secretNames"):
            await self.lease.add_secret_names(pk, lease, names)
        # Unchanged values write no new version; the backup names the version of every secret it references.
        versions = await write_secrets(self.ctx, merged)
        backup = (await self.backups.write(merged, versions, {"browserId": own.browser_id, "conflicts": copies,
                                                              "sentKeys": sorted(data)})
                  if backup_requested else None)
        writes, deletes = merge_plan.changes(docs, merged.documents)
        # Two steps on stores that write a set concurrently (Cosmos): new documents (conflict copies) land before
        # any live document is overwritten, so a merge stopped half-way never loses a version.
        existing = {d["id"] for d in docs}
        fresh = [d for d in writes if d["id"] not in existing]
        if fresh:
            await self.ctx.ports.documents.write_set(pk, fresh)
        await self.ctx.ports.documents.write_set(pk, [d for d in writes if d["id"] in existing], deletes)
        await drop_unreferenced_secrets(self.ctx, pk, lease[0], merged)
        return backup, merged, outcomes
