"""HTTP functions for ops (role Migration.Admin): rollback, rollout, erase a user, metrics, validation, sweep."""
from __future__ import annotations

import re

import azure.functions as func

from shared.http import HttpError

from . import api_models as m, openapi
from .http_handlers import handle

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS
TENANT_ROUTE = "migration/admin/tenants/{tenantId}"


def _tenant(req: func.HttpRequest) -> str:
    tenant = req.route_params.get("tenantId") or ""
    if not re.fullmatch(openapi.TENANT_ID_PATTERN.strip("^$"), tenant):
        raise HttpError(400, "VALIDATION_ERROR", "tenantId must be 1 to 256 characters, without control "
                                                 "characters or path separators")
    return tenant


def _user(req: func.HttpRequest) -> str:
    user = req.route_params.get("userId") or ""
    if not re.fullmatch(openapi.TENANT_ID_PATTERN.strip("^$"), user):
        raise HttpError(400, "VALIDATION_ERROR", "userId must be 1 to 256 characters, without control "
                                                 "characters or path separators")
    return user


@bp.route(route=TENANT_ROUTE + "/rollback", methods=["POST", "DELETE"], auth_level=ANON)
async def tenant_rollback(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, _):
        return await s.ops.set_rollback(p, _tenant(req), active=req.method.upper() == "POST")
    return await handle(req, action, admin=True)


@bp.route(route=TENANT_ROUTE + "/rollout", methods=["PUT"], auth_level=ANON)
async def tenant_rollout(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, body: m.RolloutRequest):
        return await s.ops.set_rollout(p, _tenant(req), body.enabled)
    return await handle(req, action, body=m.RolloutRequest, admin=True)


@bp.route(route=TENANT_ROUTE + "/users/{userId}", methods=["DELETE"], auth_level=ANON)
async def erase_user(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, _):
        tenant, user = _tenant(req), _user(req)  # both checked before anything is read or removed
        return await s.ops.erase_user(p, tenant, user)
    return await handle(req, action, admin=True)


@bp.route(route="migration/admin/tenants", methods=["GET"], auth_level=ANON)
async def tenants(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, _):
        return {"tenants": await s.ops.tenants()}
    return await handle(req, action, admin=True)


@bp.route(route="migration/admin/metrics", methods=["GET"], auth_level=ANON)
async def admin_metrics(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, lambda s, p, _: s.ops.latest_metrics(), admin=True)


@bp.route(route="migration/admin/validation", methods=["GET"], auth_level=ANON)
async def admin_validation(req: func.HttpRequest) -> func.HttpResponse:
    async def action(s, p, _):
        return {"reports": await s.ops.validation_reports()}
    return await handle(req, action, admin=True)


@bp.route(route="migration/admin/sweep", methods=["POST"], auth_level=ANON)
async def admin_sweep(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, lambda s, p, _: s.ops.sweep(p), admin=True)


openapi.EXTRA_ROUTES.extend([
    ("post", "/migration/admin/tenants/{tenantId}/rollback", "Start a tenant's emergency rollback", None,
     m.TenantState, (401, 403), True),
    ("delete", "/migration/admin/tenants/{tenantId}/rollback", "Lift a tenant's emergency rollback", None,
     m.TenantState, (401, 403), True),
    ("put", "/migration/admin/tenants/{tenantId}/rollout", "Override staged rollout for a tenant",
     m.RolloutRequest, m.TenantState, (400, 401, 403), True),
    ("delete", "/migration/admin/tenants/{tenantId}/users/{userId}",
     "Erase one user: documents, vault secrets and backups (audited, idempotent)", None, m.EraseResult,
     (401, 403, 409), True),
    ("get", "/migration/admin/tenants", "Rollout and rollback state per tenant", None, m.TenantList, (401, 403),
     True),
    ("get", "/migration/admin/metrics", "The dashboard figures of the latest sweep", None, m.Dashboard,
     (401, 403), True),
    ("get", "/migration/admin/validation", "The latest validation reports", None, m.ValidationReports,
     (401, 403), True),
    ("post", "/migration/admin/sweep", "Run metrics and validation now", None, m.SweepResult, (401, 403), True),
])
