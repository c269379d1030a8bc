"""HTTP functions for users: status, migrate, preview, export; health and the OpenAPI document.

Routes, models and error codes are declared in `routes.py`; each function here is only its action.
"""
import azure.functions as func

from migration.entrypoints import openapi
from migration.entrypoints.http_handlers import Call, endpoint
from shared.http import json_response

bp = func.Blueprint()


@endpoint(bp)
async def migration_status(c: Call) -> dict:
    return await c.svc.migration.status(c.who.tenant_id, c.who.user_id)


@endpoint(bp)
async def migrate_localstorage(c: Call) -> dict:
    result = await c.svc.migration.migrate(c.who.tenant_id, c.who.user_id, c.body.localStorage_data,
                                           c.body.backup_requested, browser_id=c.body.browser_id, merge=c.body.merge)
    message = "Merge completed successfully" if result.get("merge") else "Migration completed successfully"
    return {"success": True, "data": result, "message": message}


@endpoint(bp)
async def migration_preview(c: Call) -> dict:
    result = await c.svc.migration.preview(c.who.tenant_id, c.who.user_id, c.body.localStorage_data,
                                           browser_id=c.body.browser_id)
    return {"success": True, "data": result, "message": "Dry run: nothing was written"}


@endpoint(bp)
async def migration_export(c: Call) -> dict:
    return await c.svc.migration.export(c.who.tenant_id, c.who.user_id)


@endpoint(bp)
async def health(c: Call) -> func.HttpResponse:
    report = await c.svc.migration.health()
    return json_response(report, 200 if report["status"] == "ok" else 503)


@endpoint(bp)
async def openapi_document(c: Call) -> dict:
    return openapi.document()
