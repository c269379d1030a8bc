"""OpenAPI 3.1 document, generated from the pydantic models of the contract."""
from __future__ import annotations

import functools

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import api_models as m

# (method, path, summary, request model, response model, error statuses, needs admin)
ROUTES: list[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, tuple[int, ...], bool]] = [
    ("get", "/migration/status", "The caller's migration status", None, m.StatusResponse, (401,), False),
    ("post", "/migration/migrate-localstorage", "Migrate the caller's localStorage", m.MigrateRequest,
     m.MigrateResponse, (400, 401, 403, 409, 413, 415, 503), False),
    ("post", "/migration/preview", "Dry run: the plan, nothing written", m.MigrateRequest, m.PreviewResponse,
     (400, 401, 413, 415), False),
    ("get", "/migration/export", "The caller's data as localStorage (the rollback package)", None,
     m.RollbackPackage, (401, 404, 503), False),
    ("get", "/health", "Readiness of the store, the secrets and the backups", None, m.HealthResponse, (503,),
     False),
]
EXTRA_ROUTES: list[tuple] = []  # other blueprints (ops) append theirs at import
TENANT_ID_PATTERN = r"^[^\x00-\x1f\x7f/\\?#]{1,256}$"  # no control characters, no path separators


def _schemas(models: list[type[BaseModel]]) -> tuple[dict, dict]:
    refs, defs = models_json_schema([(model, "validation") for model in models],
                                    ref_template="#/components/schemas/{model}")
    return {model: refs[(model, "validation")] for model in models}, defs.get("$defs", {})


@functools.lru_cache(maxsize=1)
def document() -> dict:
    routes = ROUTES + EXTRA_ROUTES
    models = sorted({x for r in routes for x in (r[3], r[4]) if x} | {m.ErrorBody}, key=lambda c: c.__name__)
    refs, defs = _schemas(models)
    paths: dict = {}
    for method, path, summary, request, response, errors, admin in routes:
        op: dict = {"summary": summary, "operationId": path.strip("/").replace("/", "_").replace("-", "_")
                    .replace("{", "").replace("}", "") + "_" + method,
                    "responses": {"200": {"description": "OK", "content": {
                        "application/json": {"schema": refs[response]}}} if response else {"description": "OK"}}}
        if path != "/health":
            op["security"] = [{"bearer": []}]
        if admin:
            op["description"] = "Operators only: the Migration.Admin app role and a tenant of AUTH_ADMIN_TENANTS."
        if request:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[request]}}}
        params = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
        statuses = set(errors) | ({411, 413, 415} if request else set()) | ({400} if params else set())
        if path not in ("/health",) and not path.endswith("openapi.json"):
            statuses |= {500, 503}  # any route that touches a store
        for status in sorted(statuses):
            op["responses"][str(status)] = {"description": "Error", "content": {
                "application/json": {"schema": refs[m.ErrorBody]}}}
            if status == 503:
                op["responses"]["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True,
                                 "schema": {"type": "string", "pattern": TENANT_ID_PATTERN, "maxLength": 256}}
                                for p in params]
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "localStorage migration API", "version": "1.0.0"},
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {"schemas": defs,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
