"""Typed views of the per-user migration record and the per-tenant state, with the rules read from them
(the status a user sees, whether a migrate is refused or merged, the staged-rollout rule). Pure.

Documents stay plain dicts in the stores (older records read as they are: unknown fields are kept); these
models are how the service reads them, so each rule is written once.
"""
from __future__ import annotations

from typing import Collection, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["not_started", "in_progress", "completed", "failed", "rolled_back"]


class BrowserEntry(BaseModel):
    migration_id: str
    completed_at: str | None = None
    migrated_records: int = 0
    manifest: dict | None = None


class MigrationRecord(BaseModel):
    """The record of one user: its state machine is not_started → in_progress → completed | failed, and
    completed → rolled_back (a tenant's emergency rollback) → in_progress again. Once any browser completed,
    every later attempt is a merge, and a failed merge leaves the user as it was."""
    model_config = ConfigDict(extra="allow")
    status: Status = "not_started"
    migrationId: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    leaseExpiresAt: float | None = None
    merge: bool = False
    browsers: dict[str, BrowserEntry] = Field(default_factory=dict)

    @classmethod
    def read(cls, doc: dict | None) -> "MigrationRecord":
        return cls.model_validate(doc or {})

    def lease_live(self, now: float) -> bool:
        return (self.leaseExpiresAt or 0) > now

    @property
    def ever_completed(self) -> bool:
        """Some browser of this user completed (what follows, from any browser, is a merge)."""
        return self.status in ("completed", "rolled_back") or bool(self.browsers)

    def reported_status(self, now: float) -> Status:
        status = self.status
        if status == "in_progress" and not self.lease_live(now):
            status = "failed"  # the attempt died (crash, timeout): the client may retry
        if status in ("in_progress", "failed") and self.browsers:
            status = "completed"  # a merge runs or failed: the user's data stays migrated
        return status

    def taken(self, now: float) -> bool:
        """Another attempt holds the lease."""
        return self.status == "in_progress" and self.lease_live(now)


class TenantState(BaseModel):
    """A tenant's switches: the emergency rollback, and the rollout override (None: the setting decides)."""
    model_config = ConfigDict(extra="allow")
    rollbackActive: bool = False
    rolloutEnabled: bool | None = None

    @classmethod
    def read(cls, doc: dict | None) -> "TenantState":
        return cls.model_validate(doc or {})

    @staticmethod
    def rollout_default(tenant: str, rollout_all: bool, rollout_list: Collection[str]) -> bool:
        return rollout_all or tenant in rollout_list

    def migration_enabled(self, tenant: str, rollout_all: bool, rollout_list) -> bool:
        if self.rolloutEnabled is not None:
            return self.rolloutEnabled
        return self.rollout_default(tenant, rollout_all, rollout_list)
