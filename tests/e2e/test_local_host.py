"""End to end through the local Functions host, as a real process on a free port, over real HTTP: fixtures,
concurrency, a crash of the host then a retry, isolation, no secret at rest, CORS, rollback, the emulators."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e import local_host_support
from tests.e2e.local_host_support import assert_round_trip, bearer, migrate, stored
from tests.helpers import DevHostProcess, dev_env, http, json_equal_or_same, load_fixture

pytestmark = pytest.mark.e2e

# the support module's fixtures (a host per test), named here so pytest finds them
env, host = local_host_support.env, local_host_support.host


@pytest.mark.parametrize("profile", ["typical", "heavy"])
def test_fixture_migrates_over_http(host, env, profile):
    data = load_fixture(profile)
    code, resp, _ = migrate(host, env, data)
    assert code == 200, resp
    result = resp["data"]
    m = result["manifest"]
    assert m["received"] == len(data) == m["migrated"] + m["quarantined"] + m["ignored"]
    code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer(env))
    assert st["migration_status"] == "completed"
    assert_round_trip(host, env, data, result)
    code, again, _ = migrate(host, env, data)
    assert (code, again["code"], again["migration_date"]) == (409, "ALREADY_MIGRATED", st["completed_at"])
    # The blob function, called by the host when the backup landed, recorded and verified it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = stored(env, "SELECT body FROM docs WHERE type='backup'")
        if rows:
            break
        time.sleep(0.2)
    backup = json.loads(rows[0][0])
    assert backup["verified"] is True and backup["sha256"] == result["backup"]["sha256"]


def test_two_concurrent_migrations_one_wins(host, env):
    data = load_fixture("typical")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: migrate(host, env, data), range(2)))
    assert sorted(r[0] for r in results) == [200, 409]
    ids = [r[0] for r in stored(env, "SELECT id FROM docs WHERE tenant='contoso' AND user='user-1'")]
    assert len(ids) == len(set(ids))
    record = json.loads(stored(env, "SELECT body FROM docs WHERE type='migration'")[0][0])
    data_docs = stored(env, "SELECT COUNT(*) FROM docs WHERE tenant='contoso' AND user='user-1' "
                            "AND type NOT IN ('migration', 'backup')")[0][0]
    assert data_docs == record["documentCount"]


def test_host_crash_between_writes_then_retry_converges(env, tmp_path):
    data = load_fixture("typical")
    faults = json.dumps([{"port": "documents", "op": "write_set", "mode": "partial", "keep": 300,
                          "doc_type": "chat_message"}])
    crashing = DevHostProcess({**env, "FAULT_INJECTION": faults}, tmp_path / "crash.log").start()
    try:
        with pytest.raises(OSError):  # URLError, RemoteDisconnected, ConnectionResetError
            migrate(crashing, env, data)  # the host dies mid-request: no response at all
        assert crashing.wait_exit(10) == 137
    finally:
        crashing.stop()
    assert stored(env, "SELECT COUNT(*) FROM docs WHERE type='chat_message'")[0][0] > 0  # half-written

    host = DevHostProcess(env, tmp_path / "after.log").start()
    try:
        code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer(env))
        deadline = time.monotonic() + 10
        while st["migration_status"] == "in_progress" and time.monotonic() < deadline:
            time.sleep(0.3)  # the dead attempt's lease (2 s here) runs out
            code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer(env))
        assert st["migration_status"] == "failed"
        code, resp, _ = migrate(host, env, data)
        assert code == 200
        record = json.loads(stored(env, "SELECT body FROM docs WHERE type='migration'")[0][0])
        count = stored(env, "SELECT COUNT(*) FROM docs WHERE tenant='contoso' AND user='user-1' "
                            "AND type NOT IN ('migration', 'backup')")[0][0]
        assert record["attempt"] == 2 and count == record["documentCount"]
        assert_round_trip(host, env, data, resp["data"])
    finally:
        host.stop()


def test_tenant_isolation_over_http(host, env):
    mine = load_fixture("typical", "contoso")
    theirs = load_fixture("typical", "fabrikam", "user-7", seed=3)
    code, resp, _ = migrate(host, env, {**mine, **{k: v for k, v in theirs.items() if "fabrikam" in k}})
    assert code == 200
    assert stored(env, "SELECT COUNT(*) FROM docs WHERE tenant='fabrikam'")[0][0] == 0
    for path in ("/migration/status", "/migration/export"):
        code, body, _ = http("GET", host.base + path, bearer=bearer(env, "fabrikam", "user-1"))
        assert body.get("migration_status", body.get("code")) in ("not_started", "NOT_MIGRATED")
    assert_round_trip(host, env, {**mine, **{k: v for k, v in theirs.items() if "fabrikam" in k}}, resp["data"])


def _secrets_of(data: dict) -> list[str]:
    found = [data["auth_token"]]
    for key, value in data.items():
        if key.startswith("user_llm_configs_"):
            found += [c["apiKey"] for c in json.loads(value) if "apiKey" in c]
        if key.startswith("tenant_mcp_servers_"):
            for server in json.loads(value):
                found += list(server.get("env", {}).values()) + list(server.get("headers", {}).values())
    return found


def test_no_secret_in_any_file_or_log(host, env, tmp_path):
    payloads = [load_fixture("typical"), load_fixture("heavy", user="user-2", seed=2)]
    for user, data in zip(("user-1", "user-2"), payloads, strict=True):
        assert migrate(host, env, data, user=user)[0] == 200
        http("GET", host.base + "/migration/export", bearer=bearer(env, user=user))
    host.stop()  # flush logs and the WAL
    secrets = [s for data in payloads for s in _secrets_of(data)]
    assert len(secrets) > 20
    files = [p for p in Path(env["LOCAL_DATA_DIR"]).rglob("*") if p.is_file()] + [tmp_path / "host.log"]
    assert any(p.name.endswith(".json") for p in files)  # the backups are among the scanned files
    leaks = [(p.name, s[:6]) for p in files for s in secrets if s.encode() in p.read_bytes()]
    assert leaks == []


def test_cors_preflight_and_headers(host, env):
    import urllib.request
    req = urllib.request.Request(host.base + "/migration/status", method="OPTIONS",
                                 headers={"Origin": "http://app.example", "Access-Control-Request-Method": "GET"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "http://app.example"
    code, _, headers = http("GET", host.base + "/migration/status", bearer=bearer(env),
                            headers={"Origin": "http://app.example"})
    assert code == 200 and headers["Access-Control-Allow-Origin"] == "http://app.example"


def test_rollback_round_trip_over_http(host, env):
    data = load_fixture("typical")
    admin = bearer(env, "ops", "admin-1", ["Migration.Admin"])
    route = host.base + "/migration/admin/tenants/contoso/rollback"
    assert migrate(host, env, data)[0] == 200
    assert http("POST", route, bearer=admin)[0] == 200
    code, refused, _ = migrate(host, env, load_fixture("typical", user="user-2"), user="user-2")
    assert (code, refused["code"]) == (409, "ROLLBACK_ACTIVE")
    code, package, _ = http("GET", host.base + "/migration/export", bearer=bearer(env))
    assert package["rollback_reason"] == "EMERGENCY_ROLLBACK"
    assert all(json_equal_or_same(v, package["rollback_data"][k]) for k, v in data.items() if k != "auth_token")
    assert http("DELETE", route, bearer=admin)[0] == 200
    assert migrate(host, env, data)[0] == 200
    code, metrics, _ = http("POST", host.base + "/migration/admin/sweep", bearer=admin)
    assert code == 200 and metrics["metrics"]["counts"]["rollbacks"] == 1


def test_local_host_against_the_emulators(emulator_env, tmp_path):
    """The same app against the Cosmos stand-in, Azurite and the Key Vault stand-in: a backup blob landing
    in Azurite triggers the blob function through the host's watcher."""
    import uuid
    env = dev_env(tmp_path / "data", **emulator_env, COSMOS_CONTAINER=f"c{uuid.uuid4().hex[:8]}",
                  BACKUP_CONTAINER=f"b{uuid.uuid4().hex[:8]}")
    data = load_fixture("typical")
    with DevHostProcess(env, tmp_path / "emu.log").start() as host:
        code, health, _ = http("GET", host.base + "/health")
        assert health["adapters"] == {"documents": "cosmos", "secrets": "keyvault", "backups": "blob"}
        code, resp, _ = migrate(host, env, data)
        assert code == 200, resp
        assert_round_trip(host, env, data, resp["data"])
        admin = bearer(env, "ops", "admin-1", ["Migration.Admin"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            code, sweep, _ = http("POST", host.base + "/migration/admin/sweep", bearer=admin)
            if sweep["metrics"]["counts"]["backups_verified"] == 1:
                break
            time.sleep(0.5)
        assert sweep["metrics"]["counts"]["backups_verified"] == 1
        assert sweep["validation"]["success"] is True, sweep["validation"]["issues_found"]
