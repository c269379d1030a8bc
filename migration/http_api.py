"""HTTP functions for users: status, migrate, preview, export; health and the OpenAPI document."""
from __future__ import annotations

import azure.functions as func

from shared.http import json_response

from . import openapi
from .api_models import MigrateRequest
from .http_handlers import handle

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS  # the validated bearer token is the gate: a browser cannot keep a function key


@bp.route(route="migration/status", methods=["GET"], auth_level=ANON)
async def migration_status(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, lambda s, p, _: s.migration.status(p.tenant_id, p.user_id))


@bp.route(route="migration/migrate-localstorage", methods=["POST"], auth_level=ANON)
async def migrate_localstorage(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, body: MigrateRequest):
        result = await s.migration.migrate(p.tenant_id, p.user_id, body.localStorage_data, body.backup_requested,
                                           browser_id=body.browser_id, merge=body.merge)
        message = "Merge completed successfully" if result.get("merge") else "Migration completed successfully"
        return {"success": True, "data": result, "message": message}
    return await handle(req, action, body=MigrateRequest)


@bp.route(route="migration/preview", methods=["POST"], auth_level=ANON)
async def migration_preview(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, body: MigrateRequest):
        result = await s.migration.preview(p.tenant_id, p.user_id, body.localStorage_data, browser_id=body.browser_id)
        return {"success": True, "data": result, "message": "Dry run: nothing was written"}
    return await handle(req, action, body=MigrateRequest)


@bp.route(route="migration/export", methods=["GET"], auth_level=ANON)
async def migration_export(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, lambda s, p, _: s.migration.export(p.tenant_id, p.user_id))


@bp.route(route="health", methods=["GET"], auth_level=ANON)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, _):
        report = await s.migration.health()
        return json_response(report, 200 if report["status"] == "ok" else 503)
    return await handle(req, action, public=True)


@bp.route(route="openapi.json", methods=["GET"], auth_level=ANON)
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, _):
        return openapi.document()
    return await handle(req, action, public=True)
