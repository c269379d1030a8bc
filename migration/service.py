"""The migration service: lease, plan, backup, secrets, documents, completion. Speaks only to the ports.

Nothing counts as completed until every write has succeeded; every step is idempotent (deterministic ids,
upserts, write-once backups, unchanged secrets not re-versioned), so a retry after any failure converges.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable, TypeVar
from urllib.parse import quote

from shared import request_charge, telemetry
from shared.composition import Ports
from shared.concurrency import all_or_nothing, bounded
from shared.cosmos_layout import TENANT_LEVEL_USER
from shared.ports import Conflict, DependencyUnavailable, PreconditionFailed
from shared.settings import Settings

from . import backup_format, counters, errors, exporter, merge as merging, merge_plan, planner
from .planner import DATA_TYPES, Plan
from .records import MigrationRecord, TenantState

log = logging.getLogger("migration.service")
T = TypeVar("T")

TENANT_STATE_ID = "tenant_state"
BACKUP_FORMAT = "localstorage-backup/1"
_SAFE_PATH = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _ascii(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")  # blob metadata is ASCII only


def record_id(user: str) -> str:
    return f"migration.{planner.user_tag(user)}"


def ever_completed(record: dict | None) -> bool:
    return MigrationRecord.read(record).ever_completed


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def path_part(value: str) -> str:
    """Blob/file path component: the id itself when safe, else a stable hash (never `..`, `/`, unicode)."""
    # `h-…` is the hashed form's own prefix: such an id is hashed too, so no id can pose as another's hash.
    if _SAFE_PATH.fullmatch(value) and value not in (".", "..") and not value.startswith("h-"):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


async def _none() -> None:
    return None


class MigrationService:
    def __init__(self, ports: Ports, settings: Settings, clock: Callable[[], float] = time.time):
        self.ports, self.settings, self.clock = ports, settings, clock
        self._slots = asyncio.Semaphore(settings.migration_concurrency)

    # --- tenant gate: emergency rollback and staged rollout -----------------------------------------

    async def tenant_state(self, tenant: str) -> dict:
        return await self.ports.documents.read((tenant, TENANT_LEVEL_USER), TENANT_STATE_ID) or {}

    def migration_enabled(self, tenant: str, state: dict) -> bool:
        return TenantState.read(state).migration_enabled(tenant, self.settings.rollout_all, self.settings.rollout_list)

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
                outcomes = await self._compare((tenant, user), plan, data)
                stored, merge = merging.stored_comparison(outcomes), merging.summary(outcomes)
        result = self._result(plan, backup=None, started=started)
        result.update(dry_run=True, documents=len(plan.documents), secrets=len(plan.secrets), stored=stored,
                      merge=merge)
        return result

    async def _stored(self, pk: tuple[str, str]) -> tuple[list[dict], dict[str, str]]:
        """A user's documents and every secret they reference (as export reads them)."""
        docs = await self.ports.documents.list_partition(pk, DATA_TYPES)
        names = sorted(exporter.secret_names(docs))
        values = await bounded(self.settings.secret_concurrency, names, self.ports.secrets.get)
        missing = [n for n, v in zip(names, values, strict=True) if v is None]
        if missing:
            raise errors.ServiceError(500, "EXPORT_INCOMPLETE", f"{len(missing)} secret(s) could not be read back")
        return docs, dict(zip(names, values, strict=True))

    async def _compare(self, pk: tuple[str, str], own: Plan, data: dict[str, str]) -> list[merging.KeyOutcome]:
        """Each sent key that would be stored, against what is stored. Writes nothing."""
        docs, secrets = await self._stored(pk)

        def compare() -> list[merging.KeyOutcome]:
            state = merge_plan.load(pk[0], docs, secrets)
            return merging.merge(state, merge_plan.incoming(own, data, pk[0]), own.browser_id, "preview")
        return await asyncio.to_thread(compare)

    def _plan(self, tenant: str, user: str, data: dict[str, str], browser_id: str = planner.DEFAULT_BROWSER,
              **kw: Any) -> Plan:
        s = self.settings
        try:
            return planner.plan(tenant, user, data, max_document_bytes=s.max_document_bytes, limits=planner.Limits(
                max_documents=s.max_documents, max_items_per_key=s.max_items_per_key, max_secrets=s.max_secrets,
                max_keys=s.max_keys), browser_id=browser_id, **kw)
        except planner.PlanTooLarge as e:
            raise errors.too_large(e.code, e.what, e.limit) from None

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
        self._refuse_if_taken(existing, merge=True)  # completed without `merge`: 409 below, with unsaved_keys
        async with self._slots:  # after the cheap refusals: a refused request never waits for a slot
            if existing and existing.get("status") == "completed" and not merge:
                own = await asyncio.to_thread(self._plan, tenant, user, data, browser_id)
                raise errors.already_migrated(existing.get("completedAt"),
                                              merging.unsaved(await self._compare(pk, own, data)))
            if ever_completed(existing):
                # Merged even without `merge` after a rollback: a re-migration never deletes what another
                # browser contributed.
                return await self._merge(pk, existing, data, backup_requested, started, browser_id)
            return await self._migrate(pk, existing, data, backup_requested, started, browser_id)

    async def _migrate(self, pk: tuple[str, str], existing: dict | None, data: dict[str, str],
                       backup_requested: bool, started: float, browser_id: str) -> dict:
        tenant, user = pk
        ru = request_charge.start()  # Cosmos RU this attempt spends (its own tasks included)
        plan = await asyncio.to_thread(self._plan, tenant, user, data, browser_id)
        lease = [await self._acquire(pk, existing, plan)]  # the record, renewed (new etag) while we write
        # A new user is counted whatever becomes of the attempt, alongside the writes (never cancelled by them).
        first = asyncio.ensure_future(self._count(tenant, {"users_started": 1}) if existing is None else _none())
        try:
            backup = await self._while_leased(pk, lease, self._write_all(pk, lease, plan, backup_requested))
            result = self._result(plan, backup, started)
            await self._complete(pk, lease[0], plan, result)
            result["request_charge"] = round(ru.total, 2)
        except Exception as e:
            await self._fail(pk, lease[0], e)
            raise
        finally:
            await first
        await self._count(tenant, counters.completion(
            plan.summary, result["duration_ms"], backup is not None,
            [k.reason or "" for k in plan.keys if k.disposition is planner.Disposition.QUARANTINED])
            | {"request_charge_sum": result["request_charge"]}, per_minute=True)
        telemetry.migration_finished("completed", result["duration_ms"])
        log.info("migration completed tenant=%s user=%s id=%s keys=%d docs=%d ms=%d", path_part(tenant),
                 path_part(user), plan.migration_id, len(plan.keys), len(plan.documents), result["duration_ms"])
        return result

    async def _merge(self, pk: tuple[str, str], existing: dict, data: dict[str, str], backup_requested: bool,
                     started: float, browser_id: str) -> dict:
        """One browser's data merged into a completed user (README "Browsers and merge"): under the same
        lease and heartbeat as a migration; writes only what changed; removes only superseded versions."""
        tenant, user = pk
        ru = request_charge.start()
        own = await asyncio.to_thread(self._plan, tenant, user, data, browser_id)
        mid = planner.migration_id_for(tenant, user, own.payload_sha256, browser_id, merge=True)
        lease = [await self._acquire(pk, existing, own, migration_id=mid, names=(), merge=True)]
        try:
            backup, merged, outcomes = await self._while_leased(
                pk, lease, self._merge_all(pk, lease, own, data, mid, backup_requested))
            result = self._result(own, backup, started)
            summary = merging.summary(outcomes)
            result.update(migration_id=mid, merge=summary)
            await self._complete(pk, lease[0], merged, result)
            result["request_charge"] = round(ru.total, 2)
        except Exception as e:
            await self._fail(pk, lease[0], e)
            raise
        new_browser = browser_id not in (existing.get("browsers") or {})
        await self._count(tenant, counters.merged(summary["conflicts"], new_browser, backup is not None,
                                                  existing.get("status") == "rolled_back"), per_minute=True)
        telemetry.migration_finished("merged", result["duration_ms"])
        log.info("merge completed tenant=%s user=%s id=%s added=%d updated=%d conflicts=%d ms=%d",
                 path_part(tenant), path_part(user), mid, summary["added"], summary["updated"],
                 summary["conflicts"], result["duration_ms"])
        return result

    async def _merge_all(self, pk: tuple[str, str], lease: list[dict], own: Plan, data: dict[str, str], mid: str,
                         backup_requested: bool) -> tuple[dict | None, Plan, list[merging.KeyOutcome]]:
        tenant, user = pk
        docs, secrets = await self._stored(pk)  # read under the lease: no other merge writes meanwhile
        s = self.settings

        def compute() -> tuple[list[merging.KeyOutcome], Plan, list[dict]]:
            state = merge_plan.load(tenant, docs, secrets)
            outcomes = merging.merge(state, merge_plan.incoming(own, data, tenant), own.browser_id, mid)
            try:
                merged, copies = merge_plan.plan_state(
                    tenant, user, state, browser_id=own.browser_id, migration_id=mid,
                    max_document_bytes=s.max_document_bytes, limits=planner.Limits(
                        max_documents=s.max_documents, max_items_per_key=s.max_items_per_key,
                        max_secrets=s.max_secrets, max_keys=s.max_keys))
            except planner.PlanTooLarge as e:
                raise errors.too_large(e.code, e.what, e.limit) from None
            return outcomes, merged, copies
        outcomes, merged, copies = await asyncio.to_thread(compute)
        # The record lists every vault name this attempt may write before any is written (as a migration).
        names = sorted(set(lease[0].get("secretNames") or ()) | set(merged.secrets))
        if names != lease[0].get("secretNames"):
            try:
                lease[0] = await self.ports.documents.replace(
                    pk, {**{k: v for k, v in lease[0].items() if not k.startswith("_")}, "secretNames": names},
                    lease[0]["_etag"])
            except PreconditionFailed:
                raise errors.in_progress() from None
        # Unchanged values write no new version; the backup names the version of every secret it references.
        written = await bounded(s.secret_concurrency, merged.secrets.items(),
                                lambda kv: self.ports.secrets.set(kv[0], kv[1], {"source": "localstorage"}))
        versions = {name: w.version for name, w in zip(merged.secrets, written, strict=True)}
        backup = (await self._backup(merged, versions, {"browserId": own.browser_id, "conflicts": copies,
                                                        "sentKeys": sorted(data)})
                  if backup_requested else None)
        writes, deletes = merge_plan.changes(docs, merged.documents)
        await self.ports.documents.write_set(pk, writes, deletes)
        await self._drop_unreferenced_secrets(pk, lease[0], merged)
        return backup, merged, outcomes

    async def _write_all(self, pk: tuple[str, str], lease: list[dict], plan: Plan,
                         backup_requested: bool) -> dict | None:
        # Secrets first: the backup names the version of each secret it references, so it is written once
        # those are known, and still before any document changes. A changed value is a new version under
        # the same name, so the previous backup keeps reading the version it named.
        written = await bounded(self.settings.secret_concurrency, plan.secrets.items(),
                                lambda kv: self.ports.secrets.set(kv[0], kv[1], {"source": "localstorage"}))
        versions = {name: w.version for name, w in zip(plan.secrets, written, strict=True)}
        backup = await self._backup(plan, versions) if backup_requested else None
        await self._write_documents(pk, plan)
        await self._drop_unreferenced_secrets(pk, lease[0], plan)
        return backup

    async def _drop_unreferenced_secrets(self, pk: tuple[str, str], record: dict, plan: Plan) -> None:
        """Soft-delete this user's secrets that no live document references any more. The record lists
        every name an attempt may have written (kept from acquisition until completion), so this costs one
        delete per dropped name and no listing. It runs under the renewed lease, after the documents: the
        user's live documents are then exactly this plan's, and vault names are per user, so no other
        document can reference a name deleted here. Before completion: a failure here fails the attempt,
        and the retry deletes again (deleting a deleted name is a no-op)."""
        dropped = sorted(set(record.get("secretNames") or ()) - set(plan.secrets))
        if dropped:
            await bounded(self.settings.secret_concurrency, dropped, self.ports.secrets.delete)
            log.info("secrets dropped tenant=%s user=%s count=%d", path_part(pk[0]), path_part(pk[1]),
                     len(dropped))

    async def _while_leased(self, pk: tuple[str, str], lease: list[dict], work: Awaitable[T]) -> T:
        """Run `work` while renewing the lease every third of its lifetime. A live attempt thus never loses
        its lease to a retry, however slow its writes; if a renewal finds the record taken (our process
        stalled past the lease), the work is cancelled before it can overwrite the newer attempt's data."""
        renewing: list[asyncio.Future] = []  # the renewal in flight, if any

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.settings.lease_seconds / 3)
                renewed = {**{k: v for k, v in lease[0].items() if not k.startswith("_")},
                           "leaseExpiresAt": self.clock() + self.settings.lease_seconds}
                renewal = asyncio.ensure_future(self.ports.documents.replace(pk, renewed, lease[0]["_etag"]))
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

    def _refuse_if_taken(self, record: dict | None, merge: bool = False) -> None:
        if not record:
            return
        if MigrationRecord.read(record).taken(self.clock()):
            raise errors.in_progress()
        if record.get("status") == "completed" and not merge:
            raise errors.already_migrated(record.get("completedAt"))

    async def _acquire(self, pk: tuple[str, str], existing: dict | None, plan: Plan,
                       migration_id: str | None = None, names: Iterable[str] | None = None,
                       merge: bool = False) -> dict:
        now = self.clock()
        record = {
            **({k: existing[k] for k in ("browsers", "completedAt") if k in existing} if existing else {}),
            "id": record_id(pk[1]), "type": "migration", "tenantId": pk[0], "userId": pk[1],
            "schemaVersion": planner.SCHEMA_VERSION, "status": "in_progress",
            "migrationId": migration_id or plan.migration_id, "browserId": plan.browser_id, "merge": merge,
            "payloadSha256": plan.payload_sha256, "leaseOwner": uuid.uuid4().hex,
            "leaseExpiresAt": now + self.settings.lease_seconds, "startedAt": iso(now),
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
                return await self.ports.documents.create(pk, record)
            return await self.ports.documents.replace(pk, record, existing["_etag"])
        except (Conflict, PreconditionFailed):
            # Someone else took the lease between our read and our write: re-read to say why.
            self._refuse_if_taken(await self.ports.documents.read(pk, record_id(pk[1])), merge=True)
            raise errors.in_progress() from None

    async def _backup(self, plan: Plan, versions: dict[str, str], extra: dict | None = None) -> dict:
        # Sorted keys: a retry of the same data in another key order (browsers do not promise one) writes
        # the same bytes, so the write-once backup accepts it. Unchanged secrets keep their version, so a
        # retry names the same versions too.
        body = json.dumps({"format": BACKUP_FORMAT, "tenantId": plan.tenant, "userId": plan.user,
                           "migrationId": plan.migration_id, "keys": len(plan.backup_values),
                           "localStorage": plan.backup_values,
                           "secretRefs": backup_format.key_refs(plan.documents), "secretVersions": versions,
                           **(extra or {})},
                          ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode("ascii")
        sha = hashlib.sha256(body).hexdigest()
        stem = f"{path_part(plan.tenant)}/{path_part(plan.user)}/{plan.migration_id}"
        meta = {"sha256": sha, "tenantid": _ascii(plan.tenant), "userid": _ascii(plan.user),
                "migrationid": plan.migration_id, "keys": str(len(plan.backup_values))}
        try:
            try:
                info = await self.ports.backups.write(f"{stem}.json", body, meta)
            except Conflict:
                # Same payload, other bytes (a release that plans differently): keep both, never overwrite.
                info = await self.ports.backups.write(f"{stem}-{sha[:12]}.json", body, meta)
        except Exception as e:  # the "backup failure" alert (infra/modules/alerts.bicep) matches this line
            log.error("backup failed tenant=%s user=%s: %s", path_part(plan.tenant), path_part(plan.user),
                      type(e).__name__)
            raise
        return {"path": f"{self.settings.backup_container}/{info.path}", "sha256": info.sha256, "size": info.size}

    async def _write_documents(self, pk: tuple[str, str], plan: Plan) -> None:
        planned = {d["id"] for d in plan.documents}
        # Documents of an earlier attempt that this plan no longer has (another payload, a crash half-way).
        stale = [i for i in await self.ports.documents.list_ids(pk, DATA_TYPES) if i not in planned]
        await self.ports.documents.write_set(pk, plan.documents, stale)

    async def _complete(self, pk: tuple[str, str], record: dict, plan: Plan, result: dict) -> None:
        done = {**{k: v for k, v in record.items() if not k.startswith("_")},
                "status": "completed", "completedAt": iso(self.clock()), "leaseOwner": None,
                "leaseExpiresAt": None, "summary": plan.summary, "manifest": plan.counts,
                "backup": result["backup"], "secretNames": sorted(plan.secrets),
                "durationMs": result["duration_ms"], "migratedRecords": plan.migrated_records,
                "documentCount": len(plan.documents), "warnings": plan.warnings, "warningsTotal": plan.warning_count,
                "error": None}
        done["browsers"] = {**(record.get("browsers") or {}), plan.browser_id: {
            "migration_id": plan.migration_id, "completed_at": done["completedAt"],
            "migrated_records": result["migratedRecords"], "manifest": result["manifest"]}}
        try:
            await self.ports.documents.replace(pk, done, record["_etag"])
        except PreconditionFailed:
            raise errors.in_progress() from None  # our lease expired and another attempt took over
        result["completed_at"] = done["completedAt"]

    async def _fail(self, pk: tuple[str, str], record: dict, error: Exception) -> None:
        code = "DEPENDENCY_UNAVAILABLE" if isinstance(error, DependencyUnavailable) else "MIGRATION_ERROR"
        failed = {**{k: v for k, v in record.items() if not k.startswith("_")}, "status": "failed",
                  "failedAt": iso(self.clock()), "leaseOwner": None, "leaseExpiresAt": None,
                  "error": {"code": getattr(error, "code", code), "type": type(error).__name__}}
        if record.get("merge"):  # the data merged before stays: the user stays as it was
            failed["status"] = (record.get("previous") or {}).get("status") or "completed"
            if failed["status"] not in ("completed", "rolled_back"):
                failed["status"] = "completed"
        try:
            await self.ports.documents.replace(pk, failed, record["_etag"])
        except Exception:  # noqa: BLE001 - best effort: the lease expires by itself
            log.warning("could not mark migration failed tenant=%s user=%s", path_part(pk[0]), path_part(pk[1]))
        await self._count(pk[0], (counters.merge_failure if record.get("merge") else counters.failure)(
            failed["error"]["code"]))
        telemetry.migration_finished("failed")

    async def _count(self, tenant: str, deltas: dict[str, float], per_minute: bool = False) -> None:
        """Counters feed the metrics; losing one increment must never fail or undo a migration."""
        pk = (tenant, TENANT_LEVEL_USER)
        now = self.clock()
        updates = [self.ports.documents.increment(pk, counters.TOTALS_ID, deltas,
                                                  counters.totals_base(tenant, TENANT_LEVEL_USER))]
        if per_minute:
            updates.append(self.ports.documents.increment(pk, counters.day_id(now), counters.minute(now),
                                                          counters.day_base(tenant, now, TENANT_LEVEL_USER)))
        try:
            await all_or_nothing(*updates)
        except Exception as e:  # noqa: BLE001 - a lost increment must never fail the migration
            log.warning("counter update failed tenant=%s: %s", path_part(tenant), type(e).__name__)

    def _result(self, plan: Plan, backup: dict | None, started: float) -> dict:
        return {
            "success": True, "status": "completed", "migratedRecords": plan.migrated_records, "errors": [],
            "summary": dict(plan.summary), "migration_id": plan.migration_id, "manifest": plan.counts,
            "quarantined": plan.listed(planner.Disposition.QUARANTINED),
            "ignored": plan.listed(planner.Disposition.IGNORED),
            "warnings": plan.warnings, "warnings_total": plan.warning_count, "backup": backup,
            "duration_ms": round((time.perf_counter() - started) * 1000),
            "browser_id": plan.browser_id, "merge": None,
        }

    # --- export (the seed's rollback package) ---------------------------------------------------------

    async def export(self, tenant: str, user: str) -> dict:
        pk = (tenant, user)
        record, state = await asyncio.gather(self.ports.documents.read(pk, record_id(pk[1])), self.tenant_state(tenant))
        if not ever_completed(record):
            raise errors.not_migrated()
        docs, secrets = await self._stored(pk)
        data = await asyncio.to_thread(exporter.rebuild, docs, secrets)
        conflicts = await asyncio.to_thread(merge_plan.copies_for_export, docs, secrets)
        rollback = bool(state.get("rollbackActive"))
        if rollback and record["status"] == "completed":
            await self._mark_rolled_back(pk, record)
        return {"tenant_id": tenant, "user_id": user, "migration_id": record.get("migrationId"),
                "rollback_data": data, "rollback_reason": "EMERGENCY_ROLLBACK" if rollback else "USER_EXPORT",
                "created_at": iso(self.clock()), "conflicts": conflicts}

    async def restore_backup(self, tenant: str, user: str, path: str) -> dict[str, str]:
        """The localStorage exactly as the backup at `path` (as in a result's `backup.path`) held it: its
        values, with each secret read at the version the backup names. For ops restoring an earlier state
        (e.g. into a rollback package). A backup written before `secretRefs` existed names no secrets: its
        values come back as stored, placeholders included."""
        name = path.removeprefix(f"{self.settings.backup_container}/")
        stem = f"{path_part(tenant)}/{path_part(user)}/"
        data = await self.ports.backups.read(name) if name.startswith(stem) and ".." not in name else None
        body = json.loads(data) if data else None
        if not body or (body.get("tenantId"), body.get("userId")) != (tenant, user):
            raise errors.ServiceError(404, "BACKUP_NOT_FOUND", "No such backup for this user")
        refs, versions = body.get("secretRefs") or {}, body.get("secretVersions") or {}
        names = sorted(backup_format.secret_names(refs))
        values = await bounded(self.settings.secret_concurrency, names,
                               lambda n: self.ports.secrets.get(n, versions.get(n)))
        missing = sum(v is None for v in values)
        if missing:  # deleted since (a later migration dropped them, or an erase): recoverable by ops
            raise errors.ServiceError(409, "BACKUP_SECRETS_UNAVAILABLE",
                                      f"{missing} secret(s) this backup names are deleted or gone")
        secrets = dict(zip(names, values, strict=True))
        return await asyncio.to_thread(backup_format.rebuild, body["localStorage"], refs, secrets)

    async def _mark_rolled_back(self, pk: tuple[str, str], record: dict) -> None:
        rolled = {**{k: v for k, v in record.items() if not k.startswith("_")}, "status": "rolled_back",
                  "rolledBackAt": iso(self.clock())}
        try:
            await self.ports.documents.replace(pk, rolled, record["_etag"])
        except PreconditionFailed:
            return  # a concurrent export marked it first
        await self._count(pk[0], {"rollbacks": 1})

    # --- blob trigger: backup manifest ----------------------------------------------------------------

    async def record_backup(self, name: str, data: bytes) -> dict | None:
        """Called for each new backup blob: records size, sha256 and key count. `verified` means the blob
        is a well-formed backup stored at its owner's path; the sweep later compares it with the record."""
        try:
            content = json.loads(data)
            tenant, user, migration_id = content["tenantId"], content["userId"], content["migrationId"]
            keys = len(content["localStorage"])
        except (ValueError, KeyError, TypeError):
            log.warning("blob %s is not a backup document; ignored", path_part(name))
            return None
        stem = f"{path_part(tenant)}/{path_part(user)}/{path_part(migration_id)}"
        if not (name == f"{stem}.json" or re.fullmatch(re.escape(stem) + r"-[0-9a-f]{12}\.json", name)):
            log.warning("backup blob %s is not at its owner's path; ignored", path_part(name))
            return None
        doc = {"id": "backup." + name.rsplit("/", 1)[-1].removesuffix(".json"), "type": "backup",
               "tenantId": tenant, "userId": user,
               "migrationId": migration_id, "schemaVersion": planner.SCHEMA_VERSION, "blob": name,
               "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "keyCount": keys,
               "recordedAt": iso(self.clock()),
               "verified": content.get("format") == BACKUP_FORMAT and content.get("keys") == keys}
        pk = (tenant, user)
        seen, owner = await asyncio.gather(self.ports.documents.read(pk, doc["id"]),
                                           self.ports.documents.read(pk, record_id(user)))
        if owner is None:  # the user was erased (or never took a lease): nothing to record
            log.warning("backup blob %s has no migration record; ignored", path_part(name))
            return None
        await self.ports.documents.write_set(pk, [doc])
        if await self.ports.backups.size(name) is None:  # erased while we recorded it: leave no trace
            await self.ports.documents.write_set(pk, [], [doc["id"]])
            return None
        if not seen:  # triggers may repeat: count each backup once
            await self._count(tenant, {"backups_verified" if doc["verified"] else "backups_unverified": 1})
        return doc

    # --- health -----------------------------------------------------------------------------------------

    async def health(self) -> dict:
        async def check(port: Any) -> str:
            try:
                await asyncio.wait_for(port.health(), timeout=5)
                return "ok"
            except Exception as e:  # noqa: BLE001 - reported by kind only: messages may name hosts
                return f"unavailable ({type(e).__name__})"
        names = ("documents", "secrets", "backups")
        results = await asyncio.gather(*(check(getattr(self.ports, n)) for n in names))
        checks = dict(zip(names, results, strict=True))
        return {"status": "ok" if all(r == "ok" for r in results) else "unavailable", "checks": checks,
                "adapters": {"documents": self.settings.document_store, "secrets": self.settings.secret_store,
                             "backups": self.settings.backup_store}}
