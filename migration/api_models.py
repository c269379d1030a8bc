"""The HTTP contract as pydantic models: request validation and the OpenAPI document come from here."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["not_started", "in_progress", "completed", "failed", "rolled_back"]


class MigrateRequest(BaseModel):
    """The seed's body. Unknown fields are refused rather than dropped."""
    model_config = ConfigDict(strict=True, extra="forbid")
    localStorage_data: dict[str, str] = Field(description="The browser's localStorage: every value a string")
    backup_requested: bool = Field(True, description="Keep a backup of what was received (secrets swapped)")


class KeyReason(BaseModel):
    key: str
    reason: str | None


class ManifestCounts(BaseModel):
    received: int
    migrated: int
    quarantined: int
    ignored: int


class Summary(BaseModel):
    agents: int = 0
    llm_configs: int = 0
    mcp_servers: int = 0
    chat_sessions: int = 0
    chat_messages: int = 0
    preferences: int = 0


class BackupRef(BaseModel):
    path: str
    sha256: str
    size: int


class MigrationResult(BaseModel):
    success: bool
    status: str
    migratedRecords: int
    errors: list[str]
    summary: Summary
    migration_id: str
    manifest: ManifestCounts = Field(description="received == migrated + quarantined + ignored")
    quarantined: list[KeyReason]
    ignored: list[KeyReason]
    warnings: list[str] = []
    backup: BackupRef | None
    duration_ms: int
    completed_at: str | None = None


class MigrateResponse(BaseModel):
    success: bool
    data: MigrationResult
    message: str


class PreviewResult(MigrationResult):
    dry_run: bool = True
    documents: int
    secrets: int


class PreviewResponse(BaseModel):
    success: bool
    data: PreviewResult
    message: str


class StatusResponse(BaseModel):
    migration_status: Status
    migration_id: str | None
    started_at: str | None
    completed_at: str | None
    summary: Summary | None
    manifest: ManifestCounts | None = None
    rollback_active: bool
    migration_enabled: bool


class RollbackPackage(BaseModel):
    tenant_id: str
    user_id: str
    migration_id: str | None
    rollback_data: dict[str, str]
    rollback_reason: str
    created_at: str


class ErrorBody(BaseModel):
    error: str
    code: str
    model_config = ConfigDict(extra="allow")


class HealthResponse(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    adapters: dict[str, str]


class RolloutRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    enabled: bool | None = Field(description="true/false to override the MIGRATION_ROLLOUT_TENANTS setting, "
                                             "null to clear the override")
