"""Shared shape of every HTTP function: registered from the route table, then authenticate, parse, call the
service and map domain errors to HTTP statuses."""
import logging
import re
import traceback
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from migration.app_services import Services, services
from migration.domain.errors import ServiceError
from migration.entrypoints.http_status import STATUS_BY_CODE, status_for
from migration.entrypoints.routes import BY_NAME, TENANT_ID_PATTERN, Route
from shared.auth import Principal
from shared.http import HttpError, json_response, parse_json_body
from shared.ports import DependencyUnavailable

log = logging.getLogger("migration.http")
M = TypeVar("M", bound=BaseModel)
ANON = func.AuthLevel.ANONYMOUS  # the validated bearer token is the gate: a browser cannot keep a function key
_PARAM = re.compile(TENANT_ID_PATTERN)


@dataclass(frozen=True)
class Call:
    """What an action gets: the services, the caller (None only on public routes), the parsed body and the
    checked path parameters."""
    svc: Services
    who: Principal
    req: func.HttpRequest
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)


Action = Callable[[Call], Awaitable[Any]]


def endpoint(bp: func.Blueprint) -> Callable[[Action], Any]:
    """Register an action as the HTTP function of the route of the same name in `routes.ROUTES` (KeyError
    for a name the table lacks)."""
    def register(action: Action) -> Any:
        route = BY_NAME[action.__name__]

        async def http_function(req: func.HttpRequest) -> func.HttpResponse:
            return await handle(req, route, action)
        http_function.__name__ = http_function.__qualname__ = action.__name__  # the Functions function name
        http_function.__doc__ = action.__doc__
        return bp.route(route=route.path, methods=list(route.methods), auth_level=ANON)(http_function)
    return register


def validate(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as e:
        # Field locations and error kinds only: pydantic's messages echo the input, which may be a secret.
        details = [{"loc": [str(p)[:120] for p in err["loc"]], "type": err["type"]} for err in e.errors()[:20]]
        first = details[0]
        raise HttpError(400, "VALIDATION_ERROR", f"Invalid request body at {'.'.join(first['loc']) or 'root'}: "
                        f"{first['type']}", details=details) from None


def path_params(req: func.HttpRequest, route: Route) -> dict[str, str]:
    params = {name: req.route_params.get(name) or "" for name in route.params}
    for name, value in params.items():
        if not _PARAM.fullmatch(value):
            raise HttpError(400, "VALIDATION_ERROR", f"{name} must be 1 to 256 characters, without control "
                                                     "characters or path separators")
    return params


async def handle(req: func.HttpRequest, route: Route, action: Action) -> func.HttpResponse:
    try:
        svc = services()
        principal = None
        if not route.public:
            principal = await svc.auth.authenticate(req.headers)
            if route.admin:
                svc.auth.require_admin(principal)
        parsed = None
        if route.request is not None:
            raw = parse_json_body(req, max_bytes=svc.settings.max_body_bytes, max_depth=svc.settings.max_json_depth)
            parsed = validate(route.request, raw)
        params = path_params(req, route)  # all checked before anything is read or changed
        # `principal` is None only on public routes, whose actions never read it.
        result = await action(Call(svc, principal, req, parsed, params))  # type: ignore[arg-type]
        return result if isinstance(result, func.HttpResponse) else json_response(result)
    except HttpError as e:
        return e.response()
    except ServiceError as e:
        if e.code in STATUS_BY_CODE:
            return json_response(e.body(), status_for(e.code))
        log.error("domain error code %s has no HTTP status", e.code)  # a code, never the message's data
        return json_response({"error": "Migration failed", "code": "MIGRATION_ERROR"}, 500)
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
