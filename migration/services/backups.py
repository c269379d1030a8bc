"""A user's backups: writing one (write-once, sorted keys), restoring the localStorage from one, and
recording a new backup blob as it lands (the blob trigger)."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from urllib.parse import quote

from migration.domain import backup_format, errors, planner
from migration.domain.naming import iso, path_part, record_id, user_prefix
from migration.domain.planner import Plan
from migration.services.service_context import ServiceContext
from migration.services.tenant_counters import TenantCounters
from shared.concurrency import bounded
from shared.ports import Conflict

log = logging.getLogger("migration.service")  # the service's parts share one logger: log queries filter on it
BACKUP_FORMAT = "localstorage-backup/1"


def _ascii(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")  # blob metadata is ASCII only


class Backups:
    def __init__(self, ctx: ServiceContext, counts: TenantCounters):
        self.ctx, self.counts = ctx, counts

    async def write(self, plan: Plan, versions: dict[str, str], extra: dict | None = None) -> dict:
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
        stem = f"{user_prefix(plan.tenant, plan.user)}{plan.migration_id}"
        meta = {"sha256": sha, "tenantid": _ascii(plan.tenant), "userid": _ascii(plan.user),
                "migrationid": plan.migration_id, "keys": str(len(plan.backup_values))}
        backups = self.ctx.ports.backups
        try:
            try:
                info = await backups.write(f"{stem}.json", body, meta)
            except Conflict:
                # Same payload, other bytes (a release that plans differently): keep both, never overwrite.
                info = await backups.write(f"{stem}-{sha[:12]}.json", body, meta)
        except Exception as e:  # the "backup failure" alert (infra/modules/alerts.bicep) matches this line
            log.error("backup failed tenant=%s user=%s: %s", path_part(plan.tenant), path_part(plan.user),
                      type(e).__name__)
            raise
        return {"path": f"{self.ctx.settings.backup_container}/{info.path}", "sha256": info.sha256,
                "size": info.size}

    async def restore(self, tenant: str, user: str, path: str) -> dict[str, str]:
        """The localStorage exactly as the backup at `path` (as in a result's `backup.path`) held it: its
        values, with each secret read at the version the backup names. For ops restoring an earlier state
        (e.g. into a rollback package). A backup written before `secretRefs` existed names no secrets: its
        values come back as stored, placeholders included."""
        ports = self.ctx.ports
        name = path.removeprefix(f"{self.ctx.settings.backup_container}/")
        data = (await ports.backups.read(name) if name.startswith(user_prefix(tenant, user)) and ".." not in name
                else None)
        body = json.loads(data) if data else None
        if not body or (body.get("tenantId"), body.get("userId")) != (tenant, user):
            raise errors.ServiceError("BACKUP_NOT_FOUND", "No such backup for this user")
        refs, versions = body.get("secretRefs") or {}, body.get("secretVersions") or {}
        names = sorted(backup_format.secret_names(refs))
        values = await bounded(self.ctx.settings.secret_concurrency, names,
                               lambda n: ports.secrets.get(n, versions.get(n)))
        missing = sum(v is None for v in values)
        if missing:  # deleted since (a later migration dropped them, or an erase): recoverable by ops
            raise errors.ServiceError("BACKUP_SECRETS_UNAVAILABLE",
                                      f"{missing} secret(s) this backup names are deleted or gone")
        secrets = dict(zip(names, values, strict=True))
        return await asyncio.to_thread(backup_format.rebuild, body["localStorage"], refs, secrets)

    async def record(self, name: str, data: bytes) -> dict | None:
        """Called for each new backup blob: records size, sha256 and key count. `verified` means the blob
        is a well-formed backup stored at its owner's path; the sweep later compares it with the record."""
        try:
            content = json.loads(data)
            tenant, user, migration_id = content["tenantId"], content["userId"], content["migrationId"]
            keys = len(content["localStorage"])
        except (ValueError, KeyError, TypeError):
            log.warning("blob %s is not a backup document; ignored", path_part(name))
            return None
        stem = f"{user_prefix(tenant, user)}{path_part(migration_id)}"
        if not (name == f"{stem}.json" or re.fullmatch(re.escape(stem) + r"-[0-9a-f]{12}\.json", name)):
            log.warning("backup blob %s is not at its owner's path; ignored", path_part(name))
            return None
        doc = {"id": "backup." + name.rsplit("/", 1)[-1].removesuffix(".json"), "type": "backup",
               "tenantId": tenant, "userId": user,
               "migrationId": migration_id, "schemaVersion": planner.SCHEMA_VERSION, "blob": name,
               "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "keyCount": keys,
               "recordedAt": iso(self.ctx.clock()),
               "verified": content.get("format") == BACKUP_FORMAT and content.get("keys") == keys}
        pk = (tenant, user)
        documents = self.ctx.ports.documents
        seen, owner = await asyncio.gather(documents.read(pk, doc["id"]), documents.read(pk, record_id(user)))
        if owner is None:  # the user was erased (or never took a lease): nothing to record
            log.warning("backup blob %s has no migration record; ignored", path_part(name))
            return None
        await documents.write_set(pk, [doc])
        if await self.ctx.ports.backups.size(name) is None:  # erased while we recorded it: leave no trace
            await documents.write_set(pk, [], [doc["id"]])
            return None
        if not seen:  # triggers may repeat: count each backup once
            await self.counts.add(tenant, {"backups_verified" if doc["verified"] else "backups_unverified": 1})
        return doc
