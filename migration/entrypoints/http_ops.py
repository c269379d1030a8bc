"""HTTP functions for ops (role Migration.Admin): rollback, rollout, erase a user, metrics, validation, sweep.

Routes, models and error codes are declared in `routes.py`; path parameters arrive checked.
"""
import azure.functions as func

from migration.entrypoints.http_handlers import Call, endpoint

bp = func.Blueprint()


@endpoint(bp)
async def tenant_rollback(c: Call) -> dict:
    return await c.svc.ops.set_rollback(c.who, c.params["tenantId"], active=c.req.method.upper() == "POST")


@endpoint(bp)
async def tenant_rollout(c: Call) -> dict:
    return await c.svc.ops.set_rollout(c.who, c.params["tenantId"], c.body.enabled)


@endpoint(bp)
async def erase_user(c: Call) -> dict:
    return await c.svc.ops.erase_user(c.who, c.params["tenantId"], c.params["userId"])


@endpoint(bp)
async def tenants(c: Call) -> dict:
    return {"tenants": await c.svc.ops.tenants()}


@endpoint(bp)
async def admin_metrics(c: Call) -> dict:
    return await c.svc.ops.latest_metrics()


@endpoint(bp)
async def admin_validation(c: Call) -> dict:
    return {"reports": await c.svc.ops.validation_reports()}


@endpoint(bp)
async def admin_sweep(c: Call) -> dict:
    return await c.svc.ops.sweep(c.who)
