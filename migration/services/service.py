"""The migration service: the one entry point callers use (HTTP handlers, the blob trigger, tests, bench).
A thin facade over its parts, each in its own module: tenant_gate (rollback, rollout), lease (take, renew,
complete, fail), first_migration and merge_run (the writes), backups (write, restore, record), export_package,
tenant_counters, health. Speaks only to the ports.

Nothing counts as completed until every write has succeeded; every step is idempotent (deterministic ids,
upserts, write-once backups, unchanged secrets not re-versioned), so a retry after any failure converges.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from migration.domain import errors, merge as merging, planner, planning
from migration.domain.naming import TENANT_STATE_ID, iso, path_part, record_id
from migration.domain.planner import Plan
from migration.domain.records import MigrationRecord
from migration.services import export_package, tenant_gate
from migration.services.backups import BACKUP_FORMAT, Backups
from migration.services.first_migration import FirstMigration
from migration.services.health import health as check_health
from migration.services.lease import Lease
from migration.services.merge_run import MergeRun
from migration.services.service_context import ServiceContext, elapsed_ms
from migration.services.tenant_counters import TenantCounters
from shared import request_charge
from shared.composition import Ports
from shared.settings import Settings

# Importable from here as before (tests, bench, older callers).
__all__ = ["BACKUP_FORMAT", "TENANT_STATE_ID", "MigrationService", "ever_completed", "iso", "path_part",
           "record_id"]


def ever_completed(record: dict | None) -> bool:
    return MigrationRecord.read(record).ever_completed


class MigrationService:
    def __init__(self, ports: Ports, settings: Settings, clock: Callable[[], float] = time.time):
        self._ctx = ServiceContext(ports, settings, clock)
        self._slots = asyncio.Semaphore(settings.migration_concurrency)
        counts = TenantCounters(self._ctx)
        self._counts, self._lease, self._backups = counts, Lease(self._ctx, counts), Backups(self._ctx, counts)
        self._first = FirstMigration(self._ctx, self._lease, self._backups, counts)
        self._merges = MergeRun(self._ctx, self._lease, self._backups, counts)

    # Read at every call by every part: swapping one on a live service (tests do) reaches them all.
    @property
    def ports(self) -> Ports:
        return self._ctx.ports

    @property
    def settings(self) -> Settings:
        return self._ctx.settings

    @property
    def clock(self) -> Callable[[], float]:
        return self._ctx.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self._ctx.clock = value

    # --- tenant gate: emergency rollback and staged rollout -----------------------------------------

    async def tenant_state(self, tenant: str) -> dict:
        return await tenant_gate.tenant_state(self._ctx, tenant)

    def migration_enabled(self, tenant: str, state: dict) -> bool:
        return tenant_gate.migration_enabled(self._ctx, tenant, state)

    # --- status -----------------------------------------------------------------------------------

    async def status(self, tenant: str, user: str) -> dict:
        record, state = await asyncio.gather(self.ports.documents.read((tenant, user), record_id(user)),
                                             self.tenant_state(tenant))
        record = record or {}
        return {
            "migration_status": MigrationRecord.read(record).reported_status(self.clock()),
            "migration_id": record.get("migrationId"),
            "started_at": record.get("startedAt"),
            "completed_at": record.get("completedAt"),
            "summary": record.get("summary"),
            "manifest": record.get("manifest"),
            "rollback_active": bool(state.get("rollbackActive")),
            "migration_enabled": self.migration_enabled(tenant, state),
            "browsers": record.get("browsers") or {},
        }

    # --- preview ----------------------------------------------------------------------------------

    async def preview(self, tenant: str, user: str, data: dict[str, str],
                      browser_id: str = planner.DEFAULT_BROWSER) -> dict:
        started = time.perf_counter()
        async with self._slots:  # a preview plans the whole payload too: it takes a migration slot
            plan = await asyncio.to_thread(self._plan, tenant, user, data, browser_id)
            record = await self.ports.documents.read((tenant, user), record_id(user))
            stored, merge = None, None
            if ever_completed(record):  # what this browser holds that is not stored yet, and what a merge adds
                outcomes = await self._merges.compare((tenant, user), plan, data)
                stored, merge = merging.stored_comparison(outcomes), merging.summary(outcomes)
        result = planning.result(plan, backup=None, duration_ms=elapsed_ms(started))
        result.update(dry_run=True, documents=len(plan.documents), secrets=len(plan.secrets), stored=stored,
                      merge=merge)
        return result

    def _plan(self, tenant: str, user: str, data: dict[str, str], browser_id: str = planner.DEFAULT_BROWSER,
              **kw: Any) -> Plan:
        return planning.plan(self.settings, tenant, user, data, browser_id, **kw)

    # --- migrate ----------------------------------------------------------------------------------

    async def migrate(self, tenant: str, user: str, data: dict[str, str], backup_requested: bool = True,
                      browser_id: str = planner.DEFAULT_BROWSER, merge: bool = False) -> dict:
        started = time.perf_counter()
        pk = (tenant, user)
        state, existing = await asyncio.gather(self.tenant_state(tenant),
                                               self.ports.documents.read(pk, record_id(pk[1])))
        if state.get("rollbackActive"):
            raise errors.rollback_active()
        if not self.migration_enabled(tenant, state):
            raise errors.not_enabled()
        self._lease.refuse_if_taken(existing, merge=True)  # completed without `merge`: 409 below, with unsaved_keys
        async with self._slots:  # after the cheap refusals: a refused request never waits for a slot
            if existing and existing.get("status") == "completed" and not merge:
                own = await asyncio.to_thread(self._plan, tenant, user, data, browser_id)
                raise errors.already_migrated(existing.get("completedAt"),
                                              merging.unsaved(await self._merges.compare(pk, own, data)))
            ru = request_charge.start()  # Cosmos RU this attempt spends (its own tasks included)
            own = await asyncio.to_thread(self._plan, tenant, user, data, browser_id)
            if existing is not None and ever_completed(existing):
                # Merged even without `merge` after a rollback: a re-migration never deletes what another
                # browser contributed.
                return await self._merges.run(pk, existing, own, data, backup_requested, started, ru)
            return await self._first.run(pk, existing, own, backup_requested, started, ru)

    # --- export (the seed's rollback package), backups, health ------------------------------------------

    async def export(self, tenant: str, user: str) -> dict:
        return await export_package.export(self._ctx, self._counts, tenant, user)

    async def restore_backup(self, tenant: str, user: str, path: str) -> dict[str, str]:
        """The localStorage exactly as the backup at `path` held it (see Backups.restore)."""
        return await self._backups.restore(tenant, user, path)

    async def record_backup(self, name: str, data: bytes) -> dict | None:
        """The blob trigger: records a new backup blob (see Backups.record)."""
        return await self._backups.record(name, data)

    async def health(self) -> dict:
        return await check_health(self._ctx)
