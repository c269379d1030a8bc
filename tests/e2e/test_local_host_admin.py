"""The local host's own surface (issue 10): log lines that control characters cannot forge, the admin API
(master key, no browser), and record_backup's Event Grid path: the blob extension's webhook and the relay from
Azurite."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e import local_host_support
from tests.e2e.local_host_support import migrate, raw, stored
from tests.helpers import DevHostProcess, dev_env, load_fixture

pytestmark = pytest.mark.e2e

# the support module's fixtures (a host per test), named here so pytest finds them
env, host = local_host_support.env, local_host_support.host


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
                # The relay logs its delivery after the webhook answered, so after the host recorded it.
                deadline = time.monotonic() + 10
                while "delivered BlobCreated" not in (tmp_path / "relay.log").read_text():
                    assert relay.poll() is None and time.monotonic() < deadline, (tmp_path / "relay.log").read_text()
                    time.sleep(0.1)
            finally:
                relay.terminate()
                relay.wait(10)
