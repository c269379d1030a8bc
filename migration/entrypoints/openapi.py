"""OpenAPI 3.1 document, built from the route table (`routes.py`) and its pydantic models."""
from __future__ import annotations

import functools
from collections import defaultdict

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from migration.entrypoints import api_models as m
from migration.entrypoints.http_status import status_for
from migration.entrypoints.routes import ROUTES, TENANT_ID_PATTERN, Route

ADMIN_NOTE = "Operators only: the Migration.Admin app role and a tenant of AUTH_ADMIN_TENANTS."


def _schemas(models: list[type[BaseModel]]) -> tuple[dict, dict]:
    refs, defs = models_json_schema([(model, "validation") for model in models],
                                    ref_template="#/components/schemas/{model}")
    return {model: refs[(model, "validation")] for model in models}, defs.get("$defs", {})


def _operation_id(route: Route, method: str) -> str:
    return (route.path.replace("/", "_").replace("-", "_").replace("{", "").replace("}", "") + "_" + method.lower())


def _operation(route: Route, method: str, refs: dict) -> dict:
    op: dict = {"summary": route.summary, "operationId": _operation_id(route, method), "responses": {}}
    for status in route.response_statuses:
        op["responses"][str(status)] = {"description": "OK" if status < 400 else "Unavailable", "content": {
            "application/json": {"schema": refs[route.response]}}}
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in route.error_codes():
        by_status[status_for(code)].append(code)
    for status, codes in sorted(by_status.items()):
        by_model: dict[type[BaseModel], list[str]] = defaultdict(list)
        for code in codes:
            by_model[m.error_body_model(code)].append(code)
        shapes = [{"allOf": [refs[model], {"properties": {"code": {"enum": group}}}]}
                  for model, group in by_model.items()]
        schema = shapes[0] if len(shapes) == 1 else {"anyOf": shapes}
        op["responses"][str(status)] = {"description": ", ".join(codes),
                                        "content": {"application/json": {"schema": schema}}}
        if status == 503:
            op["responses"]["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    if not route.public:
        op["security"] = [{"bearer": []}]
    if route.admin:
        op["description"] = ADMIN_NOTE
    if route.request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[route.request]}}}
    if route.params:
        op["parameters"] = [{"name": p, "in": "path", "required": True,
                             "schema": {"type": "string", "pattern": TENANT_ID_PATTERN, "maxLength": 256}}
                            for p in route.params]
    return op


@functools.lru_cache(maxsize=1)
def document() -> dict:
    models: set[type[BaseModel]] = {x for r in ROUTES for x in (r.request, r.response) if x}
    models |= {m.ErrorBody, m.PlainError, *m.ERROR_BODIES.values()}
    refs, defs = _schemas(sorted(models, key=lambda c: c.__name__))
    paths: dict = {}
    for route in ROUTES:
        for method in route.methods:
            paths.setdefault("/" + route.path, {})[method.lower()] = _operation(route, method, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "localStorage migration API", "version": "1.0.0"},
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {"schemas": defs,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
