"""Secret lifecycle (issue 10, item 11): unreferenced secrets deleted when the migration that dropped them
completes; each backup restores exactly what it held; erasing one user. On every adapter stack."""
from __future__ import annotations

import json

import pytest

from migration.domain import exporter
from migration.domain.planner import DATA_TYPES
from migration.services.service import path_part, record_id
from shared.ports import DependencyUnavailable

from ..helpers import call, json_equal_or_same, load_fixture
from .test_migration_functions import _Crash, export, migrate, status

ADMIN = ["Migration.Admin"]
CONFIG_KEYS = ("user_llm_configs_contoso", "tenant_mcp_servers_contoso")


def without_secrets(data: dict[str, str]) -> dict[str, str]:
    """The same browser after its user removed every credential from their configs (ids kept). Since issue
    11 a re-migration merges: a key no longer sent is kept (zero loss), but this browser's own edited items
    replace their earlier versions, so the secrets only those held are no longer referenced."""
    def strip(item):
        return {k: v for k, v in item.items() if k in ("id", "name")} if isinstance(item, dict) else item
    out = dict(data)
    for key in CONFIG_KEYS:
        value = json.loads(data[key])
        out[key] = json.dumps([strip(i) for i in value] if isinstance(value, list)
                              else {slot: strip(i) for slot, i in value.items()})
    return out


def admin(stack) -> str:
    return stack.token("ops-tenant", "ops-admin", roles=ADMIN)


async def rollback_cycle(stack, tenant: str = "contoso", user: str = "user-1") -> None:
    """The seed's emergency rollback: start, the user's export marks them rolled back, lift."""
    route = {"tenantId": tenant}
    assert (await call("tenant_rollback", "POST", bearer=admin(stack), route_params=route))[0] == 200
    code, package, _ = await export(stack, tenant, user)
    assert code == 200 and package["rollback_reason"] == "EMERGENCY_ROLLBACK"
    assert (await call("tenant_rollback", "DELETE", bearer=admin(stack), route_params=route))[0] == 200


async def referenced(stack, tenant: str = "contoso", user: str = "user-1") -> set[str]:
    return exporter.secret_names(await stack.services.ports.documents.list_partition((tenant, user), DATA_TYPES))


async def live(stack, names) -> set[str]:
    return {n for n in names if await stack.services.ports.secrets.get(n) is not None}


async def test_remigration_without_credentials_deletes_the_secrets_it_dropped(stack):
    data = load_fixture("typical", sessions=2)
    code, resp, _ = await migrate(stack, data)
    assert code == 200
    first_backup = resp["data"]["backup"]["path"]
    first = await referenced(stack)
    assert first and await live(stack, first) == first
    await rollback_cycle(stack)
    smaller = without_secrets(data)
    code, resp, _ = await migrate(stack, smaller)
    assert code == 200, resp
    second = await referenced(stack)
    dropped = first - second
    assert dropped, "the fixture's configs hold secrets"
    assert await live(stack, first) == second          # dropped ones deleted, the rest kept
    code, package, _ = await export(stack)
    assert code == 200 and all(json_equal_or_same(smaller[k], package["rollback_data"][k])
                               for k in package["rollback_data"])
    # Soft delete: the first backup's secrets are gone from reach, and restoring it says so.
    with pytest.raises(Exception) as caught:
        await stack.services.migration.restore_backup("contoso", "user-1", first_backup)
    assert getattr(caught.value, "code", None) == "BACKUP_SECRETS_UNAVAILABLE"
    # Bringing the configs back recovers the names (Key Vault recovers soft-deleted names on set).
    await rollback_cycle(stack)
    assert (await migrate(stack, data))[0] == 200
    assert await live(stack, first) == first


async def test_a_failed_delete_fails_the_attempt_and_the_retry_deletes(stack):
    data = load_fixture("typical", sessions=1)
    assert (await migrate(stack, data))[0] == 200
    first = await referenced(stack)
    await rollback_cycle(stack)
    smaller = without_secrets(data)
    real = stack.services.ports.secrets

    class DeleteFails:
        def __getattr__(self, name):
            return getattr(real, name)

        async def delete(self, name):
            raise DependencyUnavailable("vault down", 2)
    stack.services.ports.secrets = DeleteFails()
    code, resp, _ = await migrate(stack, smaller)
    assert (code, resp["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
    # Not completed with secrets left behind: the merge failed, the user stays as it was (rolled back).
    assert (await status(stack))["migration_status"] == "rolled_back"
    stack.services.ports.secrets = real
    assert (await migrate(stack, smaller))[0] == 200
    assert await live(stack, first) == await referenced(stack)


@pytest.mark.parametrize("crash_after", [0, 1, 3])
@pytest.mark.parametrize("retry_with", ["same", "configs back"])
async def test_a_crash_among_the_deletes_then_any_retry_converges(stack, crash_after, retry_with):
    data = load_fixture("typical", sessions=1)
    assert (await migrate(stack, data))[0] == 200
    first = await referenced(stack)
    await rollback_cycle(stack)
    smaller = without_secrets(data)
    real, svc = stack.services.ports.secrets, stack.services.migration

    class DiesWhileDeleting:
        deletes = 0

        def __getattr__(self, name):
            return getattr(real, name)

        async def delete(self, name):
            if self.deletes == crash_after:
                raise _Crash()  # the process dies: no failure mark, the lease must run out
            self.deletes += 1
            return await real.delete(name)
    stack.services.ports.secrets = DiesWhileDeleting()
    with pytest.raises(_Crash):
        await migrate(stack, smaller)
    stack.services.ports.secrets = real
    real_clock = svc.clock
    svc.clock = lambda: real_clock() + stack.settings.lease_seconds + 1
    retry = smaller if retry_with == "same" else data
    code, resp, _ = await migrate(stack, retry)
    assert code == 200, resp
    now = await referenced(stack)
    assert await live(stack, first | now) == now     # what the retry references is live, nothing else
    code, package, _ = await export(stack)
    assert code == 200 and all(json_equal_or_same(retry[k], package["rollback_data"][k])
                               for k in package["rollback_data"])


def llm(value):
    return {"user_llm_configs_contoso": json.dumps([{"id": "c1", "provider": "openai", "apiKey": value,
                                                      "note": "@keyvault:not-a-reference"}])}


def mcp(value):
    return {"tenant_mcp_servers_contoso": json.dumps([{"id": "m1", "command": "npx",
                                                        "args": ["--api-key", value], "env": {"TOKEN": value}}])}


def long_key(value):
    return {"user_llm_configs_contoso": json.dumps([{"id": "c1", "apiKey": value * 1200}])}  # in vault pieces


def numeric(value):
    return {"ui_preferences_contoso": json.dumps({"password": len(value) * 1000 + ord(value[-1])})}


def raw_secret(value):
    return {"openai_api_key": "sk-" + value * 8}  # a raw value under a secret name: to the vault whole


# Each shape a secret can take in a backup: a value, several in one item, pieces, a number, a raw value.
SHAPES = [llm, mcp, long_key, numeric, raw_secret]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
async def test_an_old_backup_restores_the_secret_version_it_was_written_with(stack, shape):
    base = {"theme": "dark", "ai_agents_contoso": json.dumps([{"id": "a1", "llmConfigId": "c1"}])}
    v1, v2 = {**base, **shape("sk-first-0123456789abcdef")}, {**base, **shape("sk-second-0123456789abcdef")}
    code, first, _ = await migrate(stack, v1)
    assert code == 200 and first["data"]["backup"]
    await rollback_cycle(stack)
    code, second, _ = await migrate(stack, v2)
    assert code == 200
    service = stack.services.migration
    assert_same(await service.restore_backup("contoso", "user-1", first["data"]["backup"]["path"]), v1)
    assert_same(await service.restore_backup("contoso", "user-1", second["data"]["backup"]["path"]), v2)
    # The backup file itself holds no secret value.
    name = first["data"]["backup"]["path"].split("/", 1)[1]
    assert b"sk-first" not in await stack.services.ports.backups.read(name)


def assert_same(restored: dict, data: dict) -> None:
    assert set(restored) == set(data)
    assert [k for k, v in data.items() if not json_equal_or_same(v, restored[k])] == []


@pytest.mark.parametrize("path", ["../contoso/user-2/x.json", "contoso/user-2/{id}.json", "contoso/user-1",
                                  "contoso/user-1/../user-2/{id}.json", ""])
async def test_a_backup_of_another_user_or_a_bad_path_is_not_restored(stack, path):
    code, other, _ = await migrate(stack, llm("sk-other-user-0123456789"), user="user-2")
    assert code == 200
    other_id = other["data"]["migration_id"]
    with pytest.raises(Exception) as caught:
        await stack.services.migration.restore_backup("contoso", "user-1", path.format(id=other_id))
    assert getattr(caught.value, "code", None) == "BACKUP_NOT_FOUND"


# --- erase one user ----------------------------------------------------------------------------------

async def erase(stack, tenant="contoso", user="user-1", bearer=None):
    return await call("erase_user", "DELETE", bearer=bearer or admin(stack),
                      route_params={"tenantId": tenant, "userId": user})


async def test_erase_removes_documents_secrets_and_backups_and_is_idempotent(stack):
    data = load_fixture("typical", sessions=2)
    assert (await migrate(stack, data))[0] == 200
    await rollback_cycle(stack)
    assert (await migrate(stack, {k: v for k, v in data.items() if k != "theme"}))[0] == 200  # two backups
    assert (await migrate(stack, load_fixture("typical", user="user-2", sessions=1), user="user-2"))[0] == 200
    names = await referenced(stack)
    kept_names = await referenced(stack, user="user-2")
    docs = await stack.services.ports.documents.list_partition(("contoso", "user-1"))
    backups = stack.services.ports.backups

    code, body, _ = await erase(stack)
    assert code == 200, body
    assert (body["documents"], body["secrets"], body["backups"]) == (len(docs), len(names), 2)
    assert await stack.services.ports.documents.list_partition(("contoso", "user-1")) == []
    assert await live(stack, names) == set()
    assert await backups.list(f"contoso/{path_part('user-1')}/") == []
    assert (await status(stack))["migration_status"] == "not_started"
    assert (await export(stack))[0] == 404
    # Another user of the tenant keeps everything.
    assert await live(stack, kept_names) == kept_names and (await export(stack, user="user-2"))[0] == 200
    assert await backups.list(f"contoso/{path_part('user-2')}/")
    # Audited (who, what), without the erased user's id.
    audits = [a for a in await stack.services.ports.documents.find("audit", tenant_id="contoso")
              if a["action"] == "user.erase"]
    assert len(audits) == 1 and audits[0]["actor"]["userId"] == "ops-admin"
    assert "user-1" not in json.dumps(audits[0])

    code, again, _ = await erase(stack)
    assert code == 200 and (again["documents"], again["secrets"], again["backups"]) == (0, 0, 0)
    assert await stack.services.ports.documents.list_partition(("contoso", "user-1")) == []
    assert (await migrate(stack, data))[0] == 200  # the user may migrate again from scratch


async def test_erase_waits_for_a_live_migration(stack):
    assert (await migrate(stack, load_fixture("typical", sessions=1)))[0] == 200
    pk = ("contoso", "user-1")
    record = await stack.services.ports.documents.read(pk, record_id("user-1"))
    taken = {**{k: v for k, v in record.items() if not k.startswith("_")}, "status": "in_progress",
             "leaseExpiresAt": stack.services.migration.clock() + 60}
    await stack.services.ports.documents.replace(pk, taken, record["_etag"])
    before = len(await stack.services.ports.documents.list_partition(pk))
    code, body, _ = await erase(stack)
    assert (code, body["code"]) == (409, "MIGRATION_IN_PROGRESS")
    assert len(await stack.services.ports.documents.list_partition(pk)) == before


@pytest.mark.parametrize("user", ["", "a/b", "a\\b", "x\x00y", "x\ny", "u" * 257, "a?b", "a#b"])
async def test_erase_refuses_a_bad_user_id_and_changes_nothing(stack, user):
    assert (await migrate(stack, load_fixture("typical", sessions=1)))[0] == 200
    before = await stack.services.ports.documents.list_partition(("contoso", "user-1"))
    code, body, _ = await erase(stack, user=user)
    assert (code, body["code"]) == (400, "VALIDATION_ERROR")
    assert user not in body["error"] or not user
    assert len(await stack.services.ports.documents.list_partition(("contoso", "user-1"))) == len(before)


async def test_erase_needs_the_admin_role(stack):
    assert (await migrate(stack, load_fixture("typical", sessions=1)))[0] == 200
    code, body, _ = await erase(stack, bearer=stack.token())  # the user themself, without the ops role
    assert (code, body["code"]) == (403, "FORBIDDEN")
    code, body, _ = await call("erase_user", "DELETE", route_params={"tenantId": "contoso", "userId": "user-1"})
    assert (code, body["code"]) == (401, "AUTH_REQUIRED")
    assert (await status(stack))["migration_status"] == "completed"
