"""Ops: emergency rollback, staged rollout, audit, and the sweep (metrics snapshot + validation)."""
from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from migration.domain import backup_format, errors, metrics
from migration.domain.naming import TENANT_STATE_ID, iso, path_part, record_id, user_prefix
from migration.domain.planner import SCHEMA_VERSION, user_tag
from migration.domain.records import TenantState
from migration.services import validation
from shared.auth import Principal
from shared.composition import Ports
from shared.concurrency import bounded
from shared.cosmos_layout import PLATFORM_TENANT, PLATFORM_USER, TENANT_LEVEL_USER
from shared.ports import Conflict, PreconditionFailed
from shared.settings import Settings

log = logging.getLogger("migration.ops")
PLATFORM = (PLATFORM_TENANT, PLATFORM_USER)
CHECKPOINT_ID = "sweep_checkpoint"
METRICS_ID = "metrics.latest"
MAX_NEW_PER_SWEEP = 500  # a backlog larger than this is worked off over the following sweeps


class OpsService:
    def __init__(self, ports: Ports, settings: Settings, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None):
        self.ports, self.settings, self.clock = ports, settings, clock
        self.rng = rng or random.Random()

    # --- audit ----------------------------------------------------------------------------------------

    async def audit(self, actor: Principal | None, action: str, tenant: str | None, details: dict) -> None:
        now = self.clock()
        who = {"tenantId": actor.tenant_id, "userId": actor.user_id, "name": actor.name} if actor else {
            "system": "timer"}
        pk = (tenant, TENANT_LEVEL_USER) if tenant else PLATFORM
        doc = {"id": f"audit.{int(now * 1000)}.{uuid.uuid4().hex[:8]}", "type": "audit", "tenantId": pk[0],
               "userId": pk[1], "schemaVersion": 1, "at": iso(now), "actor": who, "action": action,
               "target": tenant, "details": details}
        await self.ports.documents.write_set(pk, [doc])
        log.info("audit action=%s target=%s actor=%s", action, path_part(tenant) if tenant else "-",
                 path_part(actor.user_id) if actor else "timer")

    # --- tenant switches ------------------------------------------------------------------------------

    async def _update_state(self, tenant: str, **fields) -> dict:
        pk = (tenant, TENANT_LEVEL_USER)
        for _ in range(5):  # etag-conditional: two admins at once must not lose each other's switch
            current = await self.ports.documents.read(pk, TENANT_STATE_ID)
            doc = {**{k: v for k, v in (current or {}).items() if not k.startswith("_")},
                   "id": TENANT_STATE_ID, "type": "tenant_state", "tenantId": tenant, "userId": TENANT_LEVEL_USER,
                   "schemaVersion": 1, "updatedAt": iso(self.clock()), **fields}
            try:
                if current is None:
                    return await self.ports.documents.create(pk, doc)
                return await self.ports.documents.replace(pk, doc, current["_etag"])
            except (Conflict, PreconditionFailed):
                continue
        raise RuntimeError("tenant state kept changing; retry")

    async def set_rollback(self, actor: Principal, tenant: str, active: bool) -> dict:
        now = iso(self.clock())
        fields = ({"rollbackActive": True, "rollbackStartedAt": now, "rollbackStartedBy": actor.user_id}
                  if active else {"rollbackActive": False, "rollbackLiftedAt": now, "rollbackLiftedBy": actor.user_id})
        state = await self._update_state(tenant, **fields)
        await self.audit(actor, "rollback.start" if active else "rollback.lift", tenant, {})
        return self._state_view(tenant, state)

    async def set_rollout(self, actor: Principal, tenant: str, enabled: bool | None) -> dict:
        state = await self._update_state(tenant, rolloutEnabled=enabled)
        await self.audit(actor, "rollout.set", tenant, {"enabled": enabled})
        return self._state_view(tenant, state)

    def _enabled(self, tenant: str, state: dict) -> bool:
        return TenantState.read(state).migration_enabled(tenant, self.settings.rollout_all, self.settings.rollout_list)

    def _state_view(self, tenant: str, state: dict) -> dict:
        return {"tenant_id": tenant, "rollback_active": bool(state.get("rollbackActive")),
                "migration_enabled": self._enabled(tenant, state), "rollout_override": state.get("rolloutEnabled"),
                "rollout_default": TenantState.rollout_default(tenant, self.settings.rollout_all,
                                                               self.settings.rollout_list),
                "updated_at": state.get("updatedAt")}

    async def tenants(self) -> list[dict]:
        """Rollout and rollback state of every tenant that has state, counters, or is in the rollout list."""
        states = {d["tenantId"]: d for d in await self.ports.documents.find("tenant_state")}
        counted = {d["tenantId"]: d for d in await self.ports.documents.find("counters")}
        names = sorted(set(states) | set(counted) | set(self.settings.rollout_list))
        out = []
        for t in names:
            view = self._state_view(t, states.get(t, {}))
            c = counted.get(t, {})
            view.update(users_started=int(c.get("users_started", 0)), completions=int(c.get("completions", 0)),
                        failures=int(c.get("failures", 0)))
            out.append(view)
        return out

    # --- erasing one user ------------------------------------------------------------------------------

    async def erase_user(self, actor: Principal, tenant: str, user: str) -> dict:
        """Removes one user's secrets, backups and documents (the migration record last, since it lists the
        vault names), and audits it. Idempotent: a repeated call (or the retry of a failed one) finds what is
        left and a call that finds nothing reports zeros. It holds the user's lease meanwhile, so no
        migration of this user runs during it; a live migration's lease gets 409 MIGRATION_IN_PROGRESS."""
        pk = (tenant, user)
        existed, lease = await self._erase_lease(pk)
        docs = await self.ports.documents.list_partition(pk)
        names = set(lease.get("secretNames") or ()) | backup_format.secret_names(backup_format.key_refs(docs))
        prefix = user_prefix(tenant, user)
        blobs = [b for b in await self.ports.backups.list(prefix) if b.startswith(prefix)]
        conc = self.settings.secret_concurrency
        # Soft delete: the vault keeps values for its retention (purge protection forbids purging earlier).
        deleted = await bounded(conc, sorted(names), self.ports.secrets.delete)
        removed = await bounded(conc, blobs, self.ports.backups.delete)
        others = [d["id"] for d in docs if d["id"] != lease["id"]]
        await self.ports.documents.write_set(pk, [], others)
        await self.ports.documents.write_set(pk, [], [lease["id"]])
        counts = {"documents": len(others) + existed, "secrets": sum(deleted), "backups": sum(removed)}
        # The audit keeps a hash of the user, not the id itself: the erased user is named nowhere after.
        await self.audit(actor, "user.erase", tenant, {"userTag": user_tag(user), **counts})
        return {"tenant_id": tenant, "user_id": user, **counts, "erased_at": iso(self.clock())}

    async def _erase_lease(self, pk: tuple[str, str]) -> tuple[int, dict]:
        """Takes the user's migration lease for the erase (creating the record if there is none); returns
        (1 if a record existed, the leased record). A retried erase may take over its own lease."""
        now = self.clock()
        for _ in range(5):
            record = await self.ports.documents.read(pk, record_id(pk[1]))
            current = record or {}
            live = current.get("status") == "in_progress" and (current.get("leaseExpiresAt") or 0) > now
            if live and not current.get("erasing"):
                raise errors.in_progress()
            lease = {**{k: v for k, v in (record or {}).items() if not k.startswith("_")},
                     "id": record_id(pk[1]), "type": "migration", "tenantId": pk[0], "userId": pk[1],
                     "schemaVersion": SCHEMA_VERSION, "status": "in_progress", "erasing": True,
                     "leaseOwner": uuid.uuid4().hex, "leaseExpiresAt": now + self.settings.lease_seconds}
            try:
                if record is None:
                    return 0, await self.ports.documents.create(pk, lease)
                return int(not record.get("erasing")), await self.ports.documents.replace(pk, lease, record["_etag"])
            except (Conflict, PreconditionFailed):
                continue  # a migration started meanwhile: read again to say why
        raise errors.in_progress()

    # --- the sweep ---------------------------------------------------------------------------------------

    async def compute_metrics(self) -> dict:
        since = (datetime.fromtimestamp(self.clock(), tz=timezone.utc) - timedelta(days=2)).strftime("%Y%m%d")
        totals, days = await asyncio.gather(self.ports.documents.find("counters"),
                                            self.ports.documents.find("counters_day", greater_than=("day", since)))
        snapshot = {"id": METRICS_ID, "type": "metrics_snapshot", "tenantId": PLATFORM[0], "userId": PLATFORM[1],
                    "schemaVersion": 1, "computedAt": iso(self.clock()), **metrics.dashboard(totals, days)}
        await self.ports.documents.write_set(PLATFORM, [snapshot])
        return snapshot

    async def latest_metrics(self) -> dict:
        return await self.ports.documents.read(PLATFORM, METRICS_ID) or await self.compute_metrics()

    async def run_validation(self) -> dict:
        started = self.clock()
        checkpoint = await self.ports.documents.read(PLATFORM, CHECKPOINT_ID) or {}
        after = checkpoint.get("completedAfter", "")
        fresh = await self.ports.documents.find("migration", where={"status": "completed"},
                                                greater_than=("completedAt", after), order_by="completedAt",
                                                limit=MAX_NEW_PER_SWEEP)
        sample = await self._older_sample(after, {(r["tenantId"], r["userId"]) for r in fresh})
        records = fresh + sample
        # New migrations: the blob function hashed their backups as they landed. The sample of older ones is
        # downloaded and hashed again, to catch a backup altered since.
        sampled = {id(r) for r in sample}
        results = await bounded(4, records, lambda r: validation.validate_user(
            self.ports, r, self.settings.backup_container, deep=id(r) in sampled))
        issues = [i for found in results for i in found]
        now = self.clock()
        # Listed fairly across tenants (a noisy user cannot push another tenant's issue out), counted in full.
        report = {"id": f"validation.{int(now * 1000)}", "type": "validation_report", "tenantId": PLATFORM[0],
                  "userId": PLATFORM[1], "schemaVersion": 1, "createdAt": iso(now), "success": not issues,
                  "checks_performed": validation.CHECKS, **validation.fair_report(issues),
                  "users_checked": len(records), "new_since_checkpoint": len(fresh),
                  "sampled_older": len(sample), "duration_ms": round((now - started) * 1000)}
        writes = [report]
        if fresh:
            writes.append({"id": CHECKPOINT_ID, "type": "sweep_checkpoint", "tenantId": PLATFORM[0],
                           "userId": PLATFORM[1], "schemaVersion": 1,
                           "completedAfter": max(r["completedAt"] for r in fresh)})
        await self.ports.documents.write_set(PLATFORM, writes)
        if issues:
            log.warning("validation found %d issue(s) in %d migration(s)", len(issues), len(records))
            for kind, n in sorted(report["issue_counts"].items()):  # one line per type: the alerts match it
                log.warning("validation issue type=%s count=%d", kind, n)
        return report

    async def _older_sample(self, before: str, exclude: set) -> list[dict]:
        """A random sample of older completed migrations: records carry a random `sampleKey`; take those
        just above a random point (wrapping around), so the sample costs one bounded query."""
        n = self.settings.sweep_sample_size
        if n <= 0 or not before:
            return []
        point = self.rng.random()
        found = await self.ports.documents.find("migration", where={"status": "completed"},
                                                greater_than=("sampleKey", point), order_by="sampleKey", limit=n)
        if len(found) < n:
            found += await self.ports.documents.find("migration", where={"status": "completed"},
                                                     greater_than=("sampleKey", -1.0), order_by="sampleKey",
                                                     limit=n - len(found))
        seen, out = set(exclude), []
        for r in found:
            key = (r["tenantId"], r["userId"])
            if key not in seen and r.get("completedAt", "") <= before:
                seen.add(key)
                out.append(r)
        return out

    async def validation_reports(self, limit: int = 10) -> list[dict]:
        since = iso(self.clock() - 7 * 86400)
        reports = await self.ports.documents.find("validation_report", greater_than=("createdAt", since),
                                                  order_by="createdAt")
        return list(reversed(reports[-limit:]))

    async def sweep(self, actor: Principal | None = None) -> dict:
        snapshot = await self.compute_metrics()
        report = await self.run_validation()
        await self.audit(actor, "sweep", None, {"issues": report["issue_count"],
                                                 "users_checked": report["users_checked"]})
        return {"metrics": snapshot, "validation": report}
