"""Issue 10's attacks through the local host over HTTP: operators, bad ids, request bounds."""
from __future__ import annotations

import json

import jwt
import pytest

from ..helpers import DEV_SECRET, DevHostProcess, dev_env, http, load_fixture, settings_from, token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("security")
    env = dev_env(folder / "data", MAX_ITEMS_PER_KEY="100", MAX_DOCUMENTS_PER_MIGRATION="1000")
    h = DevHostProcess(env, folder / "host.log").start()
    h.settings = settings_from(env)
    yield h
    h.stop()


def _migrate(host, data, bearer):
    return http("POST", host.base + "/migration/migrate-localstorage", {"localStorage_data": data}, bearer)


def test_another_tenants_admin_cannot_operate_the_victim(host):
    victim = token(host.settings, "victim", "v1")
    evil_admin = token(host.settings, "evil-corp", "mallory", ["Migration.Admin"])
    for method, route, body in [("POST", "/migration/admin/tenants/victim/rollback", None),
                                ("PUT", "/migration/admin/tenants/victim/rollout", {"enabled": False}),
                                ("GET", "/migration/admin/tenants", None),
                                ("GET", "/migration/admin/validation", None),
                                ("GET", "/migration/admin/metrics", None),
                                ("POST", "/migration/admin/sweep", None)]:
        code, resp, _ = http(method, host.base + route, body, evil_admin)
        assert (code, resp["code"]) == (403, "FORBIDDEN"), route
    code, resp, _ = _migrate(host, load_fixture("typical", "victim", "v1", sessions=1), victim)
    assert code == 200, resp  # no rollback, no rollout change took effect
    operator = token(host.settings, "ops", "admin-1", ["Migration.Admin"])
    code, tenants, _ = http("GET", host.base + "/migration/admin/tenants", bearer=operator)
    assert code == 200 and "victim" in {t["tenant_id"] for t in tenants["tenants"]}


@pytest.mark.parametrize("tenant,user", [("a", "b\x00c"), ("a\x00b", "c"), ("t\ud800", "u"), ("t", "u\n"),
                                         ("t" * 257, "u"), ("t", "\u2028")])
def test_ids_with_control_characters_or_surrogates_are_401(host, tenant, user):
    claims = {"iss": f"https://dev.local/{tenant}/v2.0", "aud": host.settings.auth_audience, "tid": tenant,
              "oid": user, "exp": 4_000_000_000}
    bad = jwt.encode(claims, DEV_SECRET, "HS256")
    code, resp, _ = _migrate(host, {"theme": "dark"}, bad)
    assert (code, resp["code"]) == (401, "AUTH_REQUIRED")
    assert http("GET", host.base + "/migration/status", bearer=bad)[0] == 401


def test_a_flood_of_messages_is_kept_whole_and_an_over_total_body_is_413(host):
    bearer = token(host.settings, "bounds", "u1")
    flood = json.dumps([0] * 5_000)
    code, resp, _ = _migrate(host, {"chat_session_flood": flood}, bearer)
    assert code == 200 and resp["data"]["quarantined"] == [{"key": "chat_session_flood", "reason": "too_many_items"}]
    code, package, _ = http("GET", host.base + "/migration/export", bearer=bearer)
    assert package["rollback_data"]["chat_session_flood"] == flood

    bearer2 = token(host.settings, "bounds", "u2")
    many = {f"chat_session_s{i}": json.dumps([{"content": "hi"}] * 99) for i in range(11)}
    code, resp, _ = http("POST", host.base + "/migration/preview", {"localStorage_data": many}, bearer2)
    assert (code, resp["code"]) == (413, "TOO_MANY_DOCUMENTS")
    code, resp, _ = _migrate(host, many, bearer2)
    assert (code, resp["code"]) == (413, "TOO_MANY_DOCUMENTS")
    code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer2)
    assert st["migration_status"] == "not_started"
