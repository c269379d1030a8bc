"""The app through azure-functions-runtime, the worker library Azure loads it with from Python 3.13 on: the
library's own indexing (every binding the host would register) and its own invocation path (the host protocol's
messages in, its request and response conversion, the answer out). See harness.py."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import dev_env, load_fixture, settings_from, token

pytestmark = pytest.mark.skipif(sys.version_info < (3, 13), reason="azure-functions-runtime needs Python 3.13+ "
                                "(CI runs the suite on 3.13 too; Azure uses the library only from 3.13)")
ROOT = Path(__file__).resolve().parents[2]


def run_harness(env: dict, invocations: list[dict]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "tests.worker.harness"], cwd=ROOT, input=json.dumps(invocations),
                          capture_output=True, text=True, timeout=180, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.rsplit("@@RESULT@@", 1)[1])
    assert "init_error" not in out, out
    return out


def http_call(function: str, method: str, path: str, *, bearer: str | None = None, body: object = None,
              params: dict | None = None, query: dict | None = None) -> dict:
    raw = b"" if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json", "content-length": str(len(raw))}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    return {"function": function, "binding": "req", "http": {
        "method": method, "url": f"http://localhost:7071/api/{path}", "headers": headers, "query": query or {},
        "params": params or {}, "body": base64.b64encode(raw).decode()}}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return dev_env(tmp_path_factory.mktemp("worker") / "data", SWEEP_SCHEDULE="0 */5 * * * *",
                   BACKUP_CONTAINER="backups")


@pytest.fixture(scope="module")
def first_run(env):
    """One worker process: index, then health, preview, migrate, status, an ops route and the timer."""
    s = settings_from(env)
    user, admin = token(s), token(s, "ops", "admin-1", ["Migration.Admin"])
    data = load_fixture("typical", sessions=3)
    calls = [
        http_call("health", "GET", "health"),
        http_call("migration_preview", "POST", "migration/preview", bearer=user, body={"localStorage_data": data}),
        http_call("migrate_localstorage", "POST", "migration/migrate-localstorage", bearer=user,
                  body={"localStorage_data": data}),
        http_call("migration_status", "GET", "migration/status", bearer=user),
        http_call("tenant_rollout", "PUT", "migration/admin/tenants/fabrikam/rollout", bearer=admin,
                  body={"enabled": False}, params={"tenantId": "fabrikam"}),
        http_call("tenant_rollout", "PUT", "migration/admin/tenants/fabrikam/rollout", bearer=user,
                  body={"enabled": False}, params={"tenantId": "fabrikam"}),
        http_call("migration_preview", "POST", "migration/preview", bearer=user, body=None),  # an empty body
        {"function": "migration_sweep", "binding": "timer",
         "json": json.dumps({"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False})},
        http_call("admin_metrics", "GET", "migration/admin/metrics", bearer=admin),
    ]
    return data, run_harness(env, calls)


EXPECTED_HTTP = {  # name: (route, methods) as the host registers them; every HTTP function is ANONYMOUS
    "migration_status": ("migration/status", ["GET"]),
    "migrate_localstorage": ("migration/migrate-localstorage", ["POST"]),
    "migration_preview": ("migration/preview", ["POST"]),
    "migration_export": ("migration/export", ["GET"]),
    "health": ("health", ["GET"]),
    "openapi_document": ("openapi.json", ["GET"]),
    "tenant_rollback": ("migration/admin/tenants/{tenantId}/rollback", ["POST", "DELETE"]),
    "tenant_rollout": ("migration/admin/tenants/{tenantId}/rollout", ["PUT"]),
    "tenants": ("migration/admin/tenants", ["GET"]),
    "erase_user": ("migration/admin/tenants/{tenantId}/users/{userId}", ["DELETE"]),
    "admin_metrics": ("migration/admin/metrics", ["GET"]),
    "admin_validation": ("migration/admin/validation", ["GET"]),
    "admin_sweep": ("migration/admin/sweep", ["POST"]),
}


def test_indexing_registers_every_binding_as_expected(first_run):
    _, out = first_run
    meta = {m["name"]: m for m in out["metadata"]}
    assert set(meta) == set(EXPECTED_HTTP) | {"record_backup", "migration_sweep"}
    for name, (route, methods) in EXPECTED_HTTP.items():
        trigger, ret = meta[name]["raw_bindings"]
        assert trigger == {"direction": "IN", "type": "httpTrigger", "name": "req", "methods": methods,
                           "authLevel": "ANONYMOUS", "route": route}, name
        assert ret == {"direction": "OUT", "type": "http", "name": "$return"}, name
    # Flex Consumption accepts only the Event Grid source; the container comes from the BACKUP_CONTAINER setting.
    assert meta["record_backup"]["raw_bindings"] == [{
        "direction": "IN", "type": "blobTrigger", "name": "blob", "path": "%BACKUP_CONTAINER%/{name}",
        "connection": "BACKUP_STORAGE", "source": "EventGrid"}]
    assert meta["migration_sweep"]["raw_bindings"] == [{
        "direction": "IN", "type": "timerTrigger", "name": "timer", "schedule": "%SWEEP_SCHEDULE%",
        "runOnStartup": False, "useMonitor": True}]


def body(result: dict) -> dict:
    assert result["status"] == "Success", result["exception"]
    return json.loads(result["http"]["body"])


def test_http_functions_answer_through_the_library_conversion(first_run):
    data, out = first_run
    health, preview, migrated, status, rollout, forbidden, empty, timer, metrics = out["results"]
    assert health["http"]["status"] == 200 and body(health)["status"] == "ok"
    headers = {k.lower(): v for k, v in health["http"]["headers"].items()}
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    assert body(preview)["data"]["dry_run"] is True
    result = body(migrated)["data"]
    assert migrated["http"]["status"] == 200
    assert result["manifest"]["received"] == len(data) == sum(result["manifest"][k] for k in
                                                               ("migrated", "quarantined", "ignored"))
    assert body(status)["migration_status"] == "completed"
    assert rollout["http"]["status"] == 200 and body(rollout)["tenant_id"] == "fabrikam"  # the route parameter
    assert (forbidden["http"]["status"], body(forbidden)["code"]) == (403, "FORBIDDEN")
    assert (empty["http"]["status"], body(empty)["code"]) == (400, "INVALID_JSON")  # length 0: bad JSON, not 411
    assert timer["status"] == "Success" and timer["http"] is None
    assert body(metrics)["users_migrated"] == 1 and body(metrics)["counts"]["completions"] == 1  # the timer swept


def test_blob_function_records_the_backup_through_the_library(first_run, env):
    data, out = first_run
    path = body(out["results"][2])["data"]["backup"]["path"]
    name = path.split("/", 1)[1]
    [file] = [p for p in Path(env["LOCAL_DATA_DIR"]).rglob(Path(name).name) if p.is_file()]
    blob = file.read_bytes()
    s = settings_from(env)
    admin = token(s, "ops", "admin-1", ["Migration.Admin"])
    second = run_harness(env, [
        {"function": "record_backup", "binding": "blob", "bytes": base64.b64encode(blob).decode(),
         "metadata": {"BlobTrigger": path, "Uri": f"http://127.0.0.1:10000/devstoreaccount1/{path}",
                      "Properties": {"ContentLength": len(blob)}}},
        http_call("admin_sweep", "POST", "migration/admin/sweep", bearer=admin),
    ])
    recorded, sweep = second["results"]
    assert recorded["status"] == "Success", recorded["exception"]
    assert body(sweep)["metrics"]["counts"]["backups_verified"] == 1
