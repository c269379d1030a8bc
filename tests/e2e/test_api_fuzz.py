"""Fuzzing the HTTP API from its own OpenAPI document (schemathesis), against the local host as a real process.

Every operation of the document (`GET /api/openapi.json`) gets a bounded number of generated requests, valid and
invalid ones (schemathesis' examples, coverage and fuzzing phases), sent with a dev token that carries the admin
role so the ops routes are exercised too. For each answer: never a 5xx; the status is one the document declares;
the body conforms to the declared schema (schemathesis' checks); and every 4xx of a declared operation carries
the `{error, code}` JSON envelope. The host runs on the embedded store in a scratch folder.

- `KNOWN_UNDECLARED`: statuses the app answers but the document does not declare; they would be added to the
  fuzzed copy of the document only, each with its reproducer. Empty: the first run's findings are declared now.
- Requests with a method the document does not declare (the coverage phase sends OPTIONS, TRACE, ...) are
  answered by the local host, not the app: 405 with an `Allow` header (schemathesis' `unsupported_method`
  check), or for OPTIONS without an allowed Origin a 403 with the error envelope.
"""
from __future__ import annotations

import copy
import functools
import itertools

import pytest
import schemathesis
from schemathesis import GenerationMode

from ..helpers import DevHostProcess, dev_env, http, settings_from, token

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 40  # per operation and phase; the whole file runs in seconds
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
# Statuses the app answers that the document does not declare: none now (each fuzz finding was declared).
KNOWN_UNDECLARED: dict = {}
_users = itertools.count()


@functools.lru_cache(maxsize=1)
def served_document() -> dict:
    import function_app  # noqa: F401 - registers every blueprint, so the ops routes are in the document
    from migration.entrypoints import openapi
    return openapi.document()


def fuzzed_document() -> dict:
    doc = copy.deepcopy(served_document())
    for (method, path), statuses in KNOWN_UNDECLARED.items():
        responses = doc["paths"][path][method]["responses"]
        for status in statuses:
            responses.setdefault(status, {"description": "Error (not declared by the app yet)", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
    return doc


# Loaded at collection from the generator the host serves (schemathesis' lazy fixture loader does not work with
# this pytest version); the first test checks that the served document is this very one.
schema = schemathesis.openapi.from_dict(fuzzed_document())
schema.config.generation.update(max_examples=MAX_EXAMPLES, modes=list(GenerationMode), deterministic=True,
                                database="none")


@pytest.fixture(scope="module")
def fuzz_host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    host = DevHostProcess(dev_env(folder / "data", MIGRATION_LEASE_SECONDS="2",
                                   AUTH_ADMIN_TENANTS="fuzz-tenant"), folder / "host.log").start()
    yield host
    host.stop()


def test_the_served_document_is_the_one_fuzzed(fuzz_host):
    code, served, _ = http("GET", fuzz_host.base + "/openapi.json")
    assert code == 200 and served == served_document()


def _declared(path: str) -> set[str]:
    return {m.upper() for m in served_document()["paths"][path] if m in HTTP_METHODS}


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case, fuzz_host):
    # A fresh user per request, so that migrations are not all refused as ALREADY_MIGRATED after the first.
    bearer = token(settings_from(fuzz_host.env), "fuzz-tenant", f"fuzz-{next(_users)}", ["Migration.Admin"])
    response = case.call_and_validate(base_url=fuzz_host.base, headers={"Authorization": f"Bearer {bearer}"},
                                      timeout=30)
    where = (f"{response.request.method} {response.request.url} -> {response.status_code} "
             f"{response.text[:300]!r}")
    assert response.status_code < 500, where
    if case.method.upper() not in _declared(case.path):
        assert response.status_code in (403, 404, 405), where  # the local host's own answers, see above
        return
    if 400 <= response.status_code < 500:
        assert (response.headers.get("content-type") or [""])[0].startswith("application/json"), where
        body = response.json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("code"), str), where
        assert "Traceback" not in body["error"], where
