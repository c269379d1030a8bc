"""Shared shape of every HTTP handler: authenticate, parse, call the service, map errors to HTTP."""
from __future__ import annotations

import logging
import traceback
from typing import Any, Awaitable, Callable, TypeVar, cast

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.auth import Principal
from shared.http import HttpError, json_response, parse_json_body
from shared.ports import DependencyUnavailable

from .app_services import Services, services
from .errors import ServiceError

log = logging.getLogger("migration.http")
M = TypeVar("M", bound=BaseModel)
Action = Callable[[Services, Principal, Any], Awaitable[Any]]


def validate(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as e:
        # Field locations and error kinds only: pydantic's messages echo the input, which may be a secret.
        details = [{"loc": [str(p)[:120] for p in err["loc"]], "type": err["type"]} for err in e.errors()[:20]]
        first = details[0]
        raise HttpError(400, "VALIDATION_ERROR", f"Invalid request body at {'.'.join(first['loc']) or 'root'}: "
                        f"{first['type']}", details=details) from None


async def handle(req: func.HttpRequest, action: Action, *, body: type[BaseModel] | None = None,
                 admin: bool = False, public: bool = False) -> func.HttpResponse:
    try:
        svc = services()
        principal = None
        if not public:
            principal = await svc.auth.authenticate(req.headers)
            if admin:
                svc.auth.require_admin(principal)
        parsed = None
        if body is not None:
            raw = parse_json_body(req, max_bytes=svc.settings.max_body_bytes, max_depth=svc.settings.max_json_depth)
            parsed = validate(body, raw)
        # `principal` is None only on public routes, whose actions never read it.
        result = await action(svc, cast(Principal, principal), parsed)
        return result if isinstance(result, func.HttpResponse) else json_response(result)
    except HttpError as e:
        return e.response()
    except ServiceError as e:
        return json_response(e.body(), e.status)
    except DependencyUnavailable as e:
        retry = max(1, round(e.retry_after))
        return json_response({"error": "A backing service is unavailable; retry later",
                              "code": "DEPENDENCY_UNAVAILABLE", "retry_after": retry}, 503,
                             {"Retry-After": str(retry)})
    except Exception as e:  # noqa: BLE001 - the last resort: a 500 envelope, never a stack trace
        # Frames only, never the exception text: SDK errors can quote request bodies.
        log.error("unhandled %s in %s\n%s", type(e).__name__, req.url.split("?")[0],
                  "".join(traceback.format_tb(e.__traceback__)[-4:]))
        return json_response({"error": "Migration failed", "code": "MIGRATION_ERROR"}, 500)
