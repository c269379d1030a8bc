"""End to end through the local Functions host, as a real process on a free port, over real HTTP."""
from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..helpers import DevHostProcess, dev_env, http, json_equal_or_same, load_fixture, settings_from, token

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path):
    return dev_env(tmp_path / "data", MIGRATION_LEASE_SECONDS="2")


@pytest.fixture
def host(env, tmp_path):
    h = DevHostProcess(env, tmp_path / "host.log").start()
    yield h
    h.stop()


def bearer(env, tenant="contoso", user="user-1", roles=None):
    return token(settings_from(env), tenant, user, roles)


def migrate(host, env, data, tenant="contoso", user="user-1"):
    return http("POST", host.base + "/migration/migrate-localstorage", {"localStorage_data": data},
                bearer(env, tenant, user))


def assert_round_trip(host, env, data, result, tenant="contoso", user="user-1"):
    code, package, _ = http("GET", host.base + "/migration/export", bearer=bearer(env, tenant, user))
    assert code == 200
    ignored = {i["key"] for i in result["ignored"]}
    kept = {k: v for k, v in data.items() if k not in ignored}
    assert set(package["rollback_data"]) == set(kept)
    assert [k for k, v in kept.items() if not json_equal_or_same(v, package["rollback_data"][k])] == []


def stored(env, sql, *args):
    with sqlite3.connect(Path(env["LOCAL_DATA_DIR"]) / "documents.sqlite3") as c:
        return c.execute(sql, args).fetchall()


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


# --- the local host behaves as the real Functions host ------------------------------------------------------

def raw(host, method, path, body=None, headers=None, chunked=False):
    """One request through http.client (odd paths, chunked bodies); (status, body bytes)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
    try:
        if chunked:
            conn.request(method, path, body=iter([body]), headers=headers or {}, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class EchoHost(DevHostProcess):
    """The local host serving tests/support/echo_app.py, which answers with what its function was handed."""

    def start(self, timeout: float = 30) -> "EchoHost":
        import os
        import subprocess
        import sys
        import urllib.request

        from shared.settings import PROJECT_ROOT
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.devhost", "--port", str(self.port), "--app",
                                      "tests.support.echo_app"], cwd=PROJECT_ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(self.log_path.read_text()[-2000:])


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("echo")
    with EchoHost(dev_env(tmp / "data"), tmp / "echo.log").start() as h:
        yield h


@pytest.fixture(scope="module")
def shared_host(tmp_path_factory):
    """One host for the read-only checks (each test here changes nothing)."""
    tmp = tmp_path_factory.mktemp("shared")
    env = dev_env(tmp / "data")
    with DevHostProcess(env, tmp / "host.log").start() as h:
        h.env = env
        yield h


@pytest.mark.parametrize("path", ["/api/Echo/a", "/api/echo/a", "/API/ECHO/a", "/Api/eChO/a"])
def test_routes_ignore_case_as_the_real_host(echo, path):
    status, body = raw(echo, "GET", path)
    assert status == 200 and json.loads(body)["route"] == {"name": "a"}


@pytest.mark.parametrize("path", ["/api/HEALTH", "/API/health", "/api/Migration/Status"])
def test_app_routes_ignore_case(shared_host, path):
    status, _ = raw(shared_host, "GET", path, headers={"Authorization": f"Bearer {bearer(shared_host.env)}"})
    assert status == 200


@pytest.mark.parametrize("query,params", [("?a=1&b=", {"a": "1"}), ("?a=&b=", {}), ("?a", {}),
                                          ("?x=%20", {"x": " "}), ("", {})])
def test_empty_query_values_are_dropped_as_the_real_host(echo, query, params):
    status, body = raw(echo, "GET", "/api/echo/a" + query)
    assert status == 200 and json.loads(body)["params"] == params


@pytest.mark.parametrize("headers,chunked,seen", [
    ({"Content-Length": "5"}, False, "hello"),   # sized: forwarded
    ({}, True, ""),                              # chunked: the real host forwards no body
])
def test_body_forwarded_only_with_a_length(echo, headers, chunked, seen):
    status, body = raw(echo, "POST", "/api/echo/a", body=b"hello", headers=headers, chunked=chunked)
    assert status == 200 and json.loads(body)["body"] == seen


@pytest.mark.parametrize("route", ["/api/migration/migrate-localstorage", "/api/migration/preview"])
def test_chunked_body_gets_411_and_changes_nothing(host, env, route):
    body = json.dumps({"localStorage_data": {"theme": "dark"}}).encode()
    status, answer = raw(host, "POST", route, body=body, chunked=True, headers={
        "Authorization": f"Bearer {bearer(env)}", "Content-Type": "application/json"})
    assert (status, json.loads(answer)["code"]) == (411, "LENGTH_REQUIRED")
    code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer(env))
    assert st["migration_status"] == "not_started"


@pytest.mark.parametrize("path", ["/api/nope", "/api/migration/statu", "/nope", "/api", "/apix/health",
                                  "/runtime/webhooks/other"])
def test_unknown_routes_get_the_hosts_bare_404(shared_host, path):
    assert raw(shared_host, "GET", path) == (404, b"")


# --- issue 10: the local host's log lines and admin API -------------------------------------------------------

FORGERIES = ["%0A", "%0D", "%0D%0A", "%1B%5B2K", "%00", "%C2%85", "%E2%80%A8", "%E2%80%A9", "%0B", "%0C", "%1C",
             "%E2%80%AE", "%7F"]


def test_control_characters_cannot_forge_a_log_line(host, tmp_path):
    markers = []
    for i, forged in enumerate(FORGERIES):
        marker = f"FORGED{i:02d}X"
        markers.append(marker)
        raw(host, "GET", f"/api/x{forged}{marker}%20INFO%20devhost:%20GET%20/api/health%20200")
        raw(host, "POST", f"/admin/functions/x{forged}{marker}")
        raw(host, "GET", f"/API/HEALTH{forged}{marker}")
    host.stop()
    lines = (tmp_path / "host.log").read_text(encoding="utf-8", errors="replace").splitlines()
    for marker in markers:
        mine = [line for line in lines if marker in line]
        assert len(mine) == 3, marker  # each request logged, on one line
        assert all(line[:4].isdigit() and line.isprintable() for line in mine), marker


def master(env):
    return (Path(env["LOCAL_DATA_DIR"]) / "devhost-master.key").read_text().strip()


REFUSED = [
    ({}, 401),                                                            # no key
    ({"x-functions-key": "wrong"}, 401),
    ({"x-functions-key": "{key}", "Origin": "http://evil.example"}, 403),  # a web page, even with the key
    ({"x-functions-key": "{key}", "Origin": "null"}, 403),
    ({"x-functions-key": "{key}", "Sec-Fetch-Site": "cross-site"}, 403),
    ({"x-functions-key": "{key}", "Sec-Fetch-Site": "same-site"}, 403),
]


def test_admin_api_needs_the_master_key_and_no_browser(host, env):
    def swept():
        return stored(env, "SELECT COUNT(*) FROM docs WHERE type='metrics_snapshot'")[0][0]
    for extra, status in REFUSED:
        headers = {k: v.replace("{key}", master(env)) for k, v in extra.items()}
        for path in ("/admin/functions/migration_sweep", "/ADMIN/Functions/migration_sweep"):
            assert raw(host, "POST", path, body=b"{}", headers=headers)[0] == status, extra
    assert swept() == 0
    assert raw(host, "POST", "/admin/functions/migration_sweep", headers={"x-functions-key": master(env)})[0] == 202
    assert swept() == 1


def test_master_key_file_is_private(host, env):
    path = Path(env["LOCAL_DATA_DIR"]) / "devhost-master.key"
    assert path.stat().st_mode & 0o077 == 0 and len(master(env)) >= 32


# --- record_backup's Event Grid path: the blob extension's webhook and the relay -------------------------------

def webhook(host, env, events, kind="Notification", function="record_backup", key=None):
    url = f"/runtime/webhooks/blobs?functionName=Host.Functions.{function}"
    headers = {"Content-Type": "application/json", "aeg-event-type": kind,
               "x-functions-key": master(env) if key is None else key}
    return raw(host, "POST", url, body=json.dumps(events).encode(), headers=headers)


def backups_recorded(env):
    return [json.loads(r[0]) for r in stored(env, "SELECT body FROM docs WHERE type='backup'")]


def test_blob_webhook_handshake_then_blob_created_runs_record_backup(env, tmp_path):
    from devtools import eventgrid
    env = {**env, "DEVHOST_BLOB_SOURCE": "eventgrid"}
    with DevHostProcess(env, tmp_path / "eg.log").start() as host:
        code, resp, _ = migrate(host, env, load_fixture("typical", sessions=2))
        assert code == 200
        container, name = resp["data"]["backup"]["path"].split("/", 1)
        time.sleep(1.5)
        assert backups_recorded(env) == []  # no polling: only an event runs the function
        status, body = webhook(host, env, [eventgrid.validation_event("abc123")], "SubscriptionValidation")
        assert (status, json.loads(body)) == (200, {"validationResponse": "abc123"})
        # Refused, and nothing runs: no key, a browser, an unknown function, not an event array.
        event = eventgrid.blob_created("http://127.0.0.1:10000/devstoreaccount1", container, name, size=1)
        assert webhook(host, env, [event], key="")[0] == 401
        assert webhook(host, env, [event], function="nope")[0] == 404
        for bad in ({"x": 1}, [1], "text", [{"eventType": 5}]):
            status, body = webhook(host, env, bad)
            assert (status, json.loads(body)["code"]) == (400, "INVALID_EVENT")
        other = eventgrid.blob_created("http://x/devstoreaccount1", "elsewhere", name, size=1)
        assert webhook(host, env, [other])[0] == 202  # another container's blob: not this trigger's
        for odd in ("../../secrets.sqlite3", "missing.json", "a/../../x"):
            assert webhook(host, env, [eventgrid.blob_created("http://x", container, odd, size=1)])[0] == 202
        assert backups_recorded(env) == []
        assert webhook(host, env, [event])[0] == 202
        [recorded] = backups_recorded(env)
        assert recorded["verified"] is True and recorded["sha256"] == resp["data"]["backup"]["sha256"]


def test_relay_delivers_azurite_blobs_to_the_webhook(emulator_env, tmp_path):
    """Azurite emits no events: the relay turns its new blobs into Event Grid deliveries, as in Azure."""
    import os
    import subprocess
    import sys
    import uuid

    from shared.settings import PROJECT_ROOT
    env = dev_env(tmp_path / "data", BACKUP_STORE="blob", BACKUP_STORAGE=emulator_env["BACKUP_STORAGE"],
                  BACKUP_CONTAINER=f"b{uuid.uuid4().hex[:8]}", DEVHOST_BLOB_SOURCE="eventgrid")
    with DevHostProcess(env, tmp_path / "host.log").start() as host:
        with open(tmp_path / "relay.log", "wb") as relay_log:
            relay = subprocess.Popen([sys.executable, "-m", "devtools.blob_relay", "--base",
                                      f"http://127.0.0.1:{host.port}", "--interval", "0.2"], cwd=PROJECT_ROOT,
                                     env={**os.environ, **env}, stdout=relay_log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 20
                while "relaying new blobs" not in (tmp_path / "relay.log").read_text():
                    assert relay.poll() is None and time.monotonic() < deadline, (tmp_path / "relay.log").read_text()
                    time.sleep(0.1)
                code, resp, _ = migrate(host, env, load_fixture("typical", sessions=2))
                assert code == 200
                deadline = time.monotonic() + 15
                while not backups_recorded(env) and time.monotonic() < deadline:
                    assert relay.poll() is None, (tmp_path / "relay.log").read_text()
                    time.sleep(0.2)
                [recorded] = backups_recorded(env)
                assert recorded["verified"] is True and recorded["sha256"] == resp["data"]["backup"]["sha256"]
            finally:
                relay.terminate()
                relay.wait(10)
    assert "delivered BlobCreated" in (tmp_path / "relay.log").read_text()
