"""The HTTP contract's bodies as pydantic models: requests are validated with them at runtime, responses in the tests
(`tests/helpers.call`), and the OpenAPI document is generated from them. Which route uses which: `routes.py`."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["not_started", "in_progress", "completed", "failed", "rolled_back"]


class Response(BaseModel):
    """A response body part: a field the service adds without declaring it here fails the tests."""
    model_config = ConfigDict(extra="forbid")


class MigrateRequest(BaseModel):
    """The seed's body. Unknown fields are refused rather than dropped."""
    model_config = ConfigDict(strict=True, extra="forbid")
    localStorage_data: dict[str, str] = Field(description="The browser's localStorage: every value a string")
    backup_requested: bool = Field(True, description="Keep a backup of what was received (secrets swapped)")
    browser_id: str = Field("default", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                            description="This browser's id (the client's `migration_browser_id`); absent: "
                                        "`default`, the seed's frontend counted as one browser")
    merge: bool = Field(False, description="For a user whose migration is completed: merge this browser's data "
                                           "into what is stored (without it: 409 ALREADY_MIGRATED)")


class KeyReason(Response):
    key: str
    reason: str | None


class ManifestCounts(Response):
    received: int
    migrated: int
    quarantined: int
    ignored: int


class Summary(Response):
    agents: int = 0
    llm_configs: int = 0
    mcp_servers: int = 0
    chat_sessions: int = 0
    chat_messages: int = 0
    preferences: int = 0


class BackupRef(Response):
    path: str
    sha256: str
    size: int


Family = Literal["agents", "llm_configs", "mcp_servers", "chat_sessions", "preferences", "unknown"]


class MergeCounts(Response):
    added: int = Field(description="items (sessions, keys) not stored before")
    unchanged: int = Field(description="already stored, live or as a conflict copy (or a prefix of a stored session)")
    updated: int = Field(description="this browser's own earlier version replaced, or a session continued")
    conflicts: int = Field(description="differs from what another browser stored: kept as a conflict copy")


class MergeSummary(MergeCounts):
    by_family: dict[Family, MergeCounts]


class StoredKey(Response):
    key: str
    state: Literal["new", "unchanged", "changed", "conflict"]


class StoredCounts(Response):
    new: int
    unchanged: int
    changed: int
    conflict: int


class StoredComparison(Response):
    counts: StoredCounts
    keys: list[StoredKey]


class MigrationResult(Response):
    success: bool
    status: str
    migratedRecords: int
    errors: list[str]
    summary: Summary
    migration_id: str
    manifest: ManifestCounts = Field(description="received == migrated + quarantined + ignored")
    quarantined: list[KeyReason]
    ignored: list[KeyReason]
    warnings: list[str] = Field(default=[], description="the first 20 warnings")
    warnings_total: int = Field(default=0, description="how many warnings there were in all")
    request_charge: float = Field(default=0.0, description="Cosmos DB request units this migration spent")
    backup: BackupRef | None
    duration_ms: int
    completed_at: str | None = None
    browser_id: str = Field("default", description="the browser this request came from")
    merge: MergeSummary | None = Field(None, description="null for a first migration; the merge's counts")


class MigrateResponse(Response):
    success: bool
    data: MigrationResult
    message: str


class PreviewResult(MigrationResult):
    dry_run: bool = True
    documents: int
    secrets: int
    stored: StoredComparison | None = Field(None, description="null when the user has no completed migration; "
                                            "else each sent key that would be stored against what is stored")


class PreviewResponse(Response):
    success: bool
    data: PreviewResult
    message: str


class BrowserEntry(Response):
    migration_id: str
    completed_at: str | None
    migrated_records: int
    manifest: ManifestCounts | None


class StatusResponse(Response):
    migration_status: Status
    migration_id: str | None
    started_at: str | None
    completed_at: str | None
    summary: Summary | None
    manifest: ManifestCounts | None = None
    rollback_active: bool
    migration_enabled: bool
    browsers: dict[str, BrowserEntry] = Field(default={}, description="each browser's last completed migration")


class ConflictCopy(Response):
    key: str
    value: str = Field(description="in the form of a rollback_data value: `[item]` / `{slot: item}` for a "
                                   "collection item, the whole text for sessions, preferences and raw keys")
    browser_id: str
    migration_id: str


class RollbackPackage(Response):
    tenant_id: str
    user_id: str
    migration_id: str | None
    rollback_data: dict[str, str]
    rollback_reason: str
    created_at: str
    conflicts: list[ConflictCopy] = Field(default=[], description="every conflict copy (not in rollback_data)")


class ErrorBody(BaseModel):
    """The envelope of every 4xx/5xx; some codes add fields (`error_body_model`)."""
    error: str
    code: str
    model_config = ConfigDict(extra="allow")


class PlainError(ErrorBody):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Response):
    loc: list[str]
    type: str


class InvalidBodyError(PlainError):
    details: list[ErrorDetail] | None = Field(None, description="locations and kinds, never values")


class AlreadyMigratedError(PlainError):
    migration_date: str | None
    unsaved_keys: int = Field(description="sent keys holding data not stored yet (send merge: true)")


class LimitError(PlainError):
    limit: int


class DocumentTooLargeError(LimitError):
    key: str | None = Field(description="the key whose document would be over `limit` bytes (null: the manifest)")


class PayloadTooLargeError(PlainError):
    limit_bytes: int


class UnavailableError(PlainError):
    retry_after: int = Field(description="seconds, as in the Retry-After header")


ERROR_BODIES: dict[str, type[PlainError]] = {
    "VALIDATION_ERROR": InvalidBodyError, "ALREADY_MIGRATED": AlreadyMigratedError,
    "JSON_TOO_DEEP": LimitError, "TOO_MANY_DOCUMENTS": LimitError, "TOO_MANY_SECRETS": LimitError,
    "TOO_MANY_KEYS": LimitError, "DOCUMENT_TOO_LARGE": DocumentTooLargeError,
    "PAYLOAD_TOO_LARGE": PayloadTooLargeError,
    "DEPENDENCY_UNAVAILABLE": UnavailableError,
}


def error_body_model(code: str) -> type[PlainError]:
    """The exact body of an error code: the envelope plus that code's fields, nothing else."""
    return ERROR_BODIES.get(code, PlainError)


class HealthResponse(Response):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    adapters: dict[str, str]


class RolloutRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    enabled: bool | None = Field(description="true/false to override the MIGRATION_ROLLOUT_TENANTS setting, "
                                             "null to clear the override")


class TenantState(Response):
    tenant_id: str
    rollback_active: bool
    migration_enabled: bool
    rollout_override: bool | None
    rollout_default: bool
    updated_at: str | None


class TenantSummary(TenantState):
    users_started: int
    completions: int
    failures: int


class TenantList(Response):
    tenants: list[TenantSummary]


class HourCount(Response):
    hour: str = Field(description="UTC hour, YYYYMMDDHH")
    count: int


class Criterion(Response):
    value: float | None
    target: float
    met: bool | None = Field(description="null when there is no data yet")


class Dashboard(Response):
    """The seed's MigrationDashboard (+ p95, per-hour series, counts, the seed's success criteria)."""
    model_config = ConfigDict(extra="allow")
    total_users: int
    users_migrated: int
    migration_success_rate: float | None
    records_by_type: dict[str, int]
    error_breakdown: dict[str, int]
    quarantine_breakdown: dict[str, int]
    performance_metrics: dict[str, float | None]
    migrations_per_hour: list[HourCount]
    counts: dict[str, int]
    success_criteria: dict[str, Criterion]
    tenants: int
    computedAt: str


class ValidationIssue(Response):
    type: str
    description: str
    data: dict


class ValidationReport(Response):
    model_config = ConfigDict(extra="allow")
    success: bool
    checks_performed: list[str]
    issues_found: list[ValidationIssue] = Field(
        description="at most 50 per tenant and 500 in all, the tenants with fewest issues first")
    issue_count: int
    issue_counts: dict[str, int]
    issue_counts_by_tenant: dict[str, int] = {}
    issues_listed: int = 0
    users_checked: int
    createdAt: str


class ValidationReports(Response):
    reports: list[ValidationReport]


class SweepResult(Response):
    metrics: Dashboard
    validation: ValidationReport


class EraseResult(Response):
    tenant_id: str
    user_id: str
    documents: int = Field(description="documents removed, the migration record included")
    secrets: int = Field(description="vault secrets deleted (soft delete: recoverable for the vault's retention)")
    backups: int = Field(description="backup blobs deleted")
    erased_at: str


class OpenApiDocument(Response):
    model_config = ConfigDict(extra="allow")
    openapi: Literal["3.1.0"]
    info: dict
    paths: dict
    components: dict
