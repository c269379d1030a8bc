"""Erasing one user through the local host, as a real process over real HTTP."""
from __future__ import annotations

from pathlib import Path

import pytest

from migration.services.service import path_part

from ..helpers import DevHostProcess, dev_env, http, load_fixture, settings_from, token

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path):
    return dev_env(tmp_path / "data")


def bearer(env, tenant="contoso", user="user-1", roles=None):
    return token(settings_from(env), tenant, user, roles)


def test_erase_one_user_over_http(env, tmp_path):
    admin = bearer(env, "ops", "admin-1", ["Migration.Admin"])
    backups = Path(env["LOCAL_DATA_DIR"]) / "backups" / "contoso"
    with DevHostProcess(env, tmp_path / "host.log").start() as host:
        for user in ("user-1", "user-2"):
            code, resp, _ = http("POST", host.base + "/migration/migrate-localstorage",
                                 {"localStorage_data": load_fixture("typical", user=user, sessions=2)},
                                 bearer(env, user=user))
            assert code == 200, resp
        url = host.base + "/migration/admin/tenants/contoso/users/user-1"
        assert http("DELETE", url, bearer=bearer(env))[0] == 403          # a user cannot erase, not even themself
        code, body, _ = http("DELETE", url, bearer=admin)
        assert code == 200, body
        assert body["documents"] > 0 and body["secrets"] > 0 and body["backups"] == 1
        assert not list((backups / path_part("user-1")).glob("*.json"))
        assert list((backups / path_part("user-2")).glob("*.json"))
        code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer(env))
        assert st["migration_status"] == "not_started"
        assert http("GET", host.base + "/migration/export", bearer=bearer(env))[0] == 404
        assert http("GET", host.base + "/migration/export", bearer=bearer(env, user="user-2"))[0] == 200
        code, again, _ = http("DELETE", url, bearer=admin)
        assert code == 200 and (again["documents"], again["secrets"], again["backups"]) == (0, 0, 0)
        code, bad, _ = http("DELETE", host.base + "/migration/admin/tenants/contoso/users/a%00b", bearer=admin)
        assert (code, bad["code"]) == (400, "VALIDATION_ERROR")
