"""The HTTP contract, declared once: every route with its models and error codes.

The blueprints register from this table (`http_handlers.endpoint`), `openapi.document()` is built from it and the
tests validate every response against it (`tests/helpers.call`). Pure data: no I/O, no Functions import.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from migration.entrypoints import api_models as m

TENANT_ID_PATTERN = r"^[^\x00-\x1f\x7f/\\?#]{1,256}$"  # no control characters, no path separators
TENANT_ROUTE = "migration/admin/tenants/{tenantId}"

# Codes any route of a kind can answer, on top of its own (`Route.errors`).
ANY = ("MIGRATION_ERROR",)  # the last resort: a 500 envelope
AUTHENTICATED = ("AUTH_REQUIRED", "DEPENDENCY_UNAVAILABLE")
ADMIN = ("FORBIDDEN",)
BODY = ("INVALID_JSON", "DUPLICATE_KEY", "NON_FINITE_NUMBER", "JSON_TOO_DEEP", "INVALID_ENCODING",
        "VALIDATION_ERROR", "LENGTH_REQUIRED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE")
PATH_PARAMS = ("VALIDATION_ERROR",)
TOO_LARGE = ("TOO_MANY_DOCUMENTS", "TOO_MANY_SECRETS", "TOO_MANY_KEYS", "DOCUMENT_TOO_LARGE")  # planner.PlanTooLarge


@dataclass(frozen=True)
class Route:
    name: str  # the Functions function name: tests, infra alerts and the worker tests refer to it
    methods: tuple[str, ...]
    path: str  # under the /api prefix, as the Functions host matches it
    summary: str
    response: type[BaseModel]
    request: type[BaseModel] | None = None
    errors: tuple[str, ...] = ()  # the domain codes this route answers beyond those of its kind
    admin: bool = False
    public: bool = False  # no bearer token (health, the document)
    response_statuses: tuple[int, ...] = (200,)  # statuses whose body is `response` (health: 503 too)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(seg[1:-1] for seg in self.path.split("/") if seg.startswith("{"))

    def error_codes(self) -> tuple[str, ...]:
        kinds = (ANY, () if self.public else AUTHENTICATED, ADMIN if self.admin else (),
                 BODY if self.request else (), PATH_PARAMS if self.params else (), self.errors)
        return tuple(dict.fromkeys(code for kind in kinds for code in kind))


ROUTES: tuple[Route, ...] = (
    Route("migration_status", ("GET",), "migration/status", "The caller's migration status", m.StatusResponse),
    Route("migrate_localstorage", ("POST",), "migration/migrate-localstorage", "Migrate the caller's localStorage",
          m.MigrateResponse, m.MigrateRequest,
          ("ROLLBACK_ACTIVE", "MIGRATION_NOT_ENABLED", "ALREADY_MIGRATED", "MIGRATION_IN_PROGRESS",
           "EXPORT_INCOMPLETE", *TOO_LARGE)),
    Route("migration_preview", ("POST",), "migration/preview", "Dry run: the plan, nothing written",
          m.PreviewResponse, m.MigrateRequest, ("EXPORT_INCOMPLETE", *TOO_LARGE)),
    Route("migration_export", ("GET",), "migration/export", "The caller's data as localStorage (the rollback package)",
          m.RollbackPackage, errors=("NOT_MIGRATED", "EXPORT_INCOMPLETE")),
    Route("health", ("GET",), "health", "Readiness of the store, the secrets and the backups", m.HealthResponse,
          public=True, response_statuses=(200, 503)),
    Route("openapi_document", ("GET",), "openapi.json", "This document", m.OpenApiDocument, public=True),
    Route("tenant_rollback", ("POST", "DELETE"), TENANT_ROUTE + "/rollback",
          "Start (POST) or lift (DELETE) a tenant's emergency rollback", m.TenantState, admin=True),
    Route("tenant_rollout", ("PUT",), TENANT_ROUTE + "/rollout", "Override staged rollout for a tenant",
          m.TenantState, m.RolloutRequest, admin=True),
    Route("erase_user", ("DELETE",), TENANT_ROUTE + "/users/{userId}",
          "Erase one user: documents, vault secrets and backups (audited, idempotent)", m.EraseResult,
          errors=("MIGRATION_IN_PROGRESS",), admin=True),
    Route("tenants", ("GET",), "migration/admin/tenants", "Rollout and rollback state per tenant", m.TenantList,
          admin=True),
    Route("admin_metrics", ("GET",), "migration/admin/metrics", "The dashboard figures of the latest sweep",
          m.Dashboard, admin=True),
    Route("admin_validation", ("GET",), "migration/admin/validation", "The latest validation reports",
          m.ValidationReports, admin=True),
    Route("admin_sweep", ("POST",), "migration/admin/sweep", "Run metrics and validation now", m.SweepResult,
          admin=True),
)
BY_NAME = {r.name: r for r in ROUTES}
