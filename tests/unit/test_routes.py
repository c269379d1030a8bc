"""The HTTP contract is declared once (migration/entrypoints/routes.py): the registered functions, the OpenAPI
document, the README's error table and the test-time response check all follow it, and the check itself
refuses drift."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from migration.entrypoints import api_models, openapi
from migration.entrypoints.http_status import STATUS_BY_CODE
from migration.entrypoints.routes import BY_NAME, ROUTES

from ..helpers import check_contract, registered, route_named

ROOT = Path(__file__).resolve().parents[2]


def http_functions() -> dict:
    return {name: trigger for name, (_, trigger) in registered().items()
            if trigger.get_binding_name() == "httpTrigger"}


def test_every_registered_http_function_is_a_route_of_the_table_and_back():
    assert set(http_functions()) == set(BY_NAME)
    assert len(BY_NAME) == len(ROUTES), "route names are unique"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_registration_follows_the_table(route):
    trigger = http_functions()[route.name]
    assert trigger.route == route.path
    assert [str(getattr(m, "value", m)) for m in trigger.methods] == list(route.methods)
    assert str(getattr(trigger.auth_level, "value", trigger.auth_level)).upper() == "ANONYMOUS"


def shapes(schema: dict) -> list[dict]:
    return schema.get("anyOf", [schema])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_the_document_declares_each_operation_from_the_table(route):
    doc = openapi.document()
    for method in route.methods:
        op = doc["paths"]["/" + route.path][method.lower()]
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ok == f"#/components/schemas/{route.response.__name__}"
        declared = {code: (status, shape["allOf"][0]["$ref"].rsplit("/", 1)[1])
                    for status, answer in op["responses"].items()
                    if int(status) >= 400 and int(status) not in route.response_statuses
                    for shape in shapes(answer["content"]["application/json"]["schema"])
                    for code in shape["allOf"][1]["properties"]["code"]["enum"]}
        assert declared == {code: (str(STATUS_BY_CODE[code]), api_models.error_body_model(code).__name__)
                            for code in route.error_codes()}
        assert ("security" in op) == (not route.public)
        assert ("requestBody" in op) == (route.request is not None)
        assert [p["name"] for p in op.get("parameters", [])] == list(route.params)


def test_the_document_has_exactly_the_table_and_is_built_without_import_side_effects():
    import migration.entrypoints.http_ops  # noqa: F401 - importing a blueprint must not change the document
    doc = openapi.document()
    assert sum(len(ops) for ops in doc["paths"].values()) == sum(len(r.methods) for r in ROUTES)
    openapi.document.cache_clear()
    assert openapi.document() == doc


def test_every_code_a_route_answers_has_a_status_and_every_error_body_model_a_code():
    assert {code for r in ROUTES for code in r.error_codes()} <= set(STATUS_BY_CODE)
    assert set(api_models.ERROR_BODIES) <= set(STATUS_BY_CODE)


def readme_error_table() -> dict[str, int]:
    text = (ROOT / "README.md").read_text()
    table = text.split("Errors are `{\"error\"", 1)[1].split("\n\n", 2)[1]
    return {code: int(row.split("|")[1]) for row in table.splitlines()[2:]
            for code in re.findall(r"`([A-Z_]+)`", row.split("|")[2])}


def test_the_readme_error_table_lists_every_code_a_route_answers_with_its_status():
    listed = readme_error_table()
    answered = {code for r in ROUTES for code in r.error_codes()}
    assert {code: listed.get(code) for code in answered} == {code: STATUS_BY_CODE[code] for code in answered}


OK_STATUS = {"migration_status": {"migration_status": "not_started", "migration_id": None, "started_at": None,
                                  "completed_at": None, "summary": None, "rollback_active": False,
                                  "migration_enabled": True}}
ERROR = {"error": "Migration already completed", "code": "ALREADY_MIGRATED"}


@pytest.mark.parametrize("name,status,body,problem", [
    ("migration_status", 200, {**OK_STATUS["migration_status"], "surprise": 1}, "a field the model lacks"),
    ("migration_status", 200, {**OK_STATUS["migration_status"], "rollback_active": "false"}, "a wrong type"),
    ("migration_status", 200, {k: v for k, v in OK_STATUS["migration_status"].items() if k != "migration_id"},
     "a required field missing"),
    ("migration_status", 200, {**OK_STATUS["migration_status"], "migration_status": "done"}, "an unknown status"),
    ("migrate_localstorage", 200, {"success": True, "data": {}, "message": "x"}, "an empty result"),
    ("migration_status", 409, ERROR, "a code the route does not declare"),
    ("migrate_localstorage", 400, ERROR, "a code with another status than the table's"),
    ("migrate_localstorage", 409, {"code": "ALREADY_MIGRATED"}, "an envelope without its message"),
    ("migrate_localstorage", 409, {**ERROR, "code": 409}, "a code that is not text"),
    ("health", 500, {"status": "ok", "checks": {}, "adapters": {}}, "a report where an error belongs"),
    ("migrate_localstorage", 409, ERROR, "a code without its fields (migration_date, unsaved_keys)"),
    ("migration_export", 404, {"error": "x", "code": "NOT_MIGRATED", "value": "sk-live"}, "a field no code has"),
    ("migration_export", 503, {"error": "x", "code": "DEPENDENCY_UNAVAILABLE", "retry_after": "5"},
     "a field of the wrong type"),
    ("migration_preview", 413, {"error": "x", "code": "TOO_MANY_KEYS"}, "a limit code without its limit"),
    ("migration_preview", 400, {"error": "x", "code": "VALIDATION_ERROR", "details": [{"loc": [], "type": "t",
                                                                                      "input": "sk-live"}]},
     "a detail that echoes the input"),
])
def test_the_response_check_refuses_drift(name, status, body, problem):
    import json
    with pytest.raises((AssertionError, ValidationError)):
        check_contract(name, status, json.dumps(body).encode())


@pytest.mark.parametrize("name,status,body", [
    ("migration_status", 200, OK_STATUS["migration_status"]),
    ("migrate_localstorage", 409, {**ERROR, "migration_date": None, "unsaved_keys": 0}),
    ("health", 503, {"status": "unavailable", "checks": {"documents": "unavailable"}, "adapters": {}}),
    ("migration_export", 503, {"error": "x", "code": "DEPENDENCY_UNAVAILABLE", "retry_after": 5}),
    ("migration_preview", 400, {"error": "x", "code": "VALIDATION_ERROR",
                                "details": [{"loc": ["localStorage_data", "k"], "type": "string_type"}]}),
    ("migration_preview", 400, {"error": "x", "code": "INVALID_JSON"}),
])
def test_the_response_check_accepts_the_contract(name, status, body):
    import json
    check_contract(name, status, json.dumps(body).encode())


@pytest.mark.parametrize("method,url,name", [
    ("GET", "http://127.0.0.1:1/api/migration/status", "migration_status"),
    ("get", "http://127.0.0.1:1/api/HEALTH?x=1", "health"),  # the host ignores case
    ("DELETE", "http://127.0.0.1:1/api/migration/admin/tenants/t%201/users/u", "erase_user"),
    ("DELETE", "http://127.0.0.1:1/api/migration/admin/tenants/t/rollback", "tenant_rollback"),
    ("GET", "http://127.0.0.1:1/api/migration/admin/tenants", "tenants"),
    ("GET", "http://127.0.0.1:1/api/migration/admin/tenants/t/rollback", None),  # a method the route lacks
    ("GET", "http://127.0.0.1:1/api/migration/admin/tenants/t/users/u/x", None),
    ("PUT", "http://127.0.0.1:1/api/nope", None),
])
def test_requests_over_http_are_checked_against_the_route_they_reach(method, url, name):
    assert route_named(method, url) == name
