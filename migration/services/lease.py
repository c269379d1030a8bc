"""The lease on a user's migration record: take it, renew it while working, complete or fail it.

The record is written etag-conditionally at every step, so two attempts never both hold it: the loser gets
409 MIGRATION_IN_PROGRESS. Nothing counts as completed until the completion's write succeeded.
"""
from __future__ import annotations

import asyncio
import logging
import random
import uuid
from typing import Awaitable, Iterable, TypeVar

from migration.domain import counters, errors, planner
from migration.domain.naming import iso, path_part, record_id
from migration.domain.planner import Plan
from migration.domain.records import MigrationRecord
from migration.services.service_context import ServiceContext
from migration.services.tenant_counters import TenantCounters
from shared import telemetry
from shared.ports import Conflict, DependencyUnavailable, PreconditionFailed

log = logging.getLogger("migration.service")  # the service's parts share one logger: log queries filter on it
T = TypeVar("T")


def _fields(record: dict) -> dict:
    """The record without the store's own fields (`_etag`, `_ts`, ...), to write it back."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


class Lease:
    def __init__(self, ctx: ServiceContext, counts: TenantCounters):
        self.ctx, self.counts = ctx, counts

    def refuse_if_taken(self, record: dict | None, merge: bool = False) -> None:
        if not record:
            return
        if MigrationRecord.read(record).taken(self.ctx.clock()):
            raise errors.in_progress()
        if record.get("status") == "completed" and not merge:
            raise errors.already_migrated(record.get("completedAt"))

    async def acquire(self, pk: tuple[str, str], existing: dict | None, plan: Plan,
                      migration_id: str | None = None, names: Iterable[str] | None = None,
                      merge: bool = False) -> dict:
        now = self.ctx.clock()
        record = {
            **({k: existing[k] for k in ("browsers", "completedAt") if k in existing} if existing else {}),
            "id": record_id(pk[1]), "type": "migration", "tenantId": pk[0], "userId": pk[1],
            "schemaVersion": planner.SCHEMA_VERSION, "status": "in_progress",
            "migrationId": migration_id or plan.migration_id, "browserId": plan.browser_id, "merge": merge,
            "payloadSha256": plan.payload_sha256, "leaseOwner": uuid.uuid4().hex,
            "leaseExpiresAt": now + self.ctx.settings.lease_seconds, "startedAt": iso(now),
            "attempt": (existing or {}).get("attempt", 0) + 1,
            "sampleKey": (existing or {}).get("sampleKey", random.random()),  # for the sweep's random sample
            "previous": ({k: existing.get(k) for k in ("status", "migrationId", "completedAt", "rolledBackAt")}
                         if existing else None),
            # Every vault name this user may hold: the earlier ones (dropped at completion) and this plan's.
            "secretNames": sorted(set((existing or {}).get("secretNames") or ()) |
                                  set(plan.secrets if names is None else names)),
        }
        try:
            if existing is None:
                return await self.ctx.ports.documents.create(pk, record)
            return await self.ctx.ports.documents.replace(pk, record, existing["_etag"])
        except (Conflict, PreconditionFailed):
            # Someone else took the lease between our read and our write: re-read to say why.
            self.refuse_if_taken(await self.ctx.ports.documents.read(pk, record_id(pk[1])), merge=True)
            raise errors.in_progress() from None

    async def add_secret_names(self, pk: tuple[str, str], lease: list[dict], names: list[str]) -> None:
        """Lists more vault names on the held record before any of them is written."""
        try:
            lease[0] = await self.ctx.ports.documents.replace(pk, {**_fields(lease[0]), "secretNames": names},
                                                              lease[0]["_etag"])
        except PreconditionFailed:
            raise errors.in_progress() from None

    async def while_leased(self, pk: tuple[str, str], lease: list[dict], work: Awaitable[T]) -> T:
        """Run `work` while renewing the lease every third of its lifetime. A live attempt thus never loses
        its lease to a retry, however slow its writes; if a renewal finds the record taken (our process
        stalled past the lease), the work is cancelled before it can overwrite the newer attempt's data.
        `lease` is a one-item list: the record with its latest etag, replaced at each renewal."""
        ctx = self.ctx
        renewing: list[asyncio.Future] = []  # the renewal in flight, if any

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(ctx.settings.lease_seconds / 3)
                renewed = {**_fields(lease[0]), "leaseExpiresAt": ctx.clock() + ctx.settings.lease_seconds}
                renewal = asyncio.ensure_future(ctx.ports.documents.replace(pk, renewed, lease[0]["_etag"]))
                renewing[:] = [renewal]
                try:
                    lease[0] = await asyncio.shield(renewal)
                except PreconditionFailed:
                    raise errors.in_progress() from None
                renewing.clear()

        beat, job = asyncio.ensure_future(heartbeat()), asyncio.ensure_future(work)
        try:
            await asyncio.wait({beat, job}, return_when=asyncio.FIRST_COMPLETED)
            if job.done():
                return job.result()
            beat.result()  # raises: the lease was lost, or the store failed while renewing
            raise AssertionError("the heartbeat never ends by itself")
        finally:
            for task in (beat, job):
                task.cancel()
            await asyncio.gather(beat, job, return_exceptions=True)
            # A renewal cancelled mid-flight may still land and change the record's etag: let it finish and
            # keep its record, or the completion's etag-conditional write would find the lease "taken".
            for renewal in renewing:
                try:
                    lease[0] = await renewal
                except Exception:  # noqa: BLE001 - the completion's own write reports a lost lease
                    pass

    async def complete(self, pk: tuple[str, str], record: dict, plan: Plan, result: dict) -> None:
        done = {**_fields(record),
                "status": "completed", "completedAt": iso(self.ctx.clock()), "leaseOwner": None,
                "leaseExpiresAt": None, "summary": plan.summary, "manifest": plan.counts,
                "backup": result["backup"], "secretNames": sorted(plan.secrets),
                "durationMs": result["duration_ms"], "migratedRecords": plan.migrated_records,
                "documentCount": len(plan.documents), "warnings": plan.warnings, "warningsTotal": plan.warning_count,
                "error": None}
        done["browsers"] = {**(record.get("browsers") or {}), plan.browser_id: {
            "migration_id": plan.migration_id, "completed_at": done["completedAt"],
            "migrated_records": result["migratedRecords"], "manifest": result["manifest"]}}
        try:
            await self.ctx.ports.documents.replace(pk, done, record["_etag"])
        except PreconditionFailed:
            raise errors.in_progress() from None  # our lease expired and another attempt took over
        result["completed_at"] = done["completedAt"]

    async def fail(self, pk: tuple[str, str], record: dict, error: Exception) -> None:
        code = "DEPENDENCY_UNAVAILABLE" if isinstance(error, DependencyUnavailable) else "MIGRATION_ERROR"
        failed = {**_fields(record), "status": "failed",
                  "failedAt": iso(self.ctx.clock()), "leaseOwner": None, "leaseExpiresAt": None,
                  "error": {"code": getattr(error, "code", code), "type": type(error).__name__}}
        if record.get("merge"):  # the data merged before stays: the user stays as it was
            failed["status"] = (record.get("previous") or {}).get("status") or "completed"
            if failed["status"] not in ("completed", "rolled_back"):
                failed["status"] = "completed"
        try:
            await self.ctx.ports.documents.replace(pk, failed, record["_etag"])
        except Exception:  # noqa: BLE001 - best effort: the lease expires by itself
            log.warning("could not mark migration failed tenant=%s user=%s", path_part(pk[0]), path_part(pk[1]))
        await self.counts.add(pk[0], (counters.merge_failure if record.get("merge") else counters.failure)(
            failed["error"]["code"]))
        telemetry.migration_finished("failed")
