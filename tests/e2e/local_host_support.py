"""What the local-host tests share: a host process per test on its own data folder (the `env` and `host`
fixtures, which a test module names at its top level so pytest finds them), tokens, migrations over HTTP, raw
requests and the embedded store read back."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers import DevHostProcess, dev_env, http, json_equal_or_same, settings_from, token


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
