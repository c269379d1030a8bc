"""The registered HTTP and blob functions, called directly, on every adapter stack."""
from __future__ import annotations

import asyncio
import json

import pytest
from azure.functions.blob import InputStream

from migration.domain.planner import DATA_TYPES
from migration.services.service import record_id
from shared.ports import DependencyUnavailable

from ..helpers import call, json_equal_or_same, load_fixture, registered


def body(data: dict, **extra) -> dict:
    return {"localStorage_data": data, **extra}


async def migrate(stack, data, tenant="contoso", user="user-1", **extra):
    return await call("migrate_localstorage", "POST", body(data, **extra), bearer=stack.token(tenant, user))


async def export(stack, tenant="contoso", user="user-1"):
    return await call("migration_export", bearer=stack.token(tenant, user))


async def status(stack, tenant="contoso", user="user-1"):
    return (await call("migration_status", bearer=stack.token(tenant, user)))[1]


async def documents(stack, tenant="contoso", user="user-1") -> list[dict]:
    return await stack.services.ports.documents.list_partition((tenant, user), DATA_TYPES)


def assert_exported(original: dict, result: dict, package: dict) -> None:
    ignored = {i["key"] for i in result["ignored"]}
    expected = {k: v for k, v in original.items() if k not in ignored}
    assert set(package["rollback_data"]) == set(expected)
    lost = [k for k, v in expected.items() if not json_equal_or_same(v, package["rollback_data"][k])]
    assert lost == []


async def test_typical_migration_round_trip_and_second_attempt(stack):
    data = load_fixture("typical")
    code, resp, _ = await migrate(stack, data)
    assert code == 200, resp
    result = resp["data"]
    assert resp["success"] is True and result["success"] is True
    m = result["manifest"]
    assert m["received"] == len(data) == m["migrated"] + m["quarantined"] + m["ignored"]
    assert {"key": "auth_token", "reason": "auth_token"} in result["ignored"]
    assert result["summary"]["agents"] == len(json.loads(data["ai_agents_contoso"]))
    assert result["summary"]["mcp_servers"] == len(json.loads(data["tenant_mcp_servers_contoso"]))
    assert result["summary"]["chat_messages"] == sum(
        len(json.loads(v)) for k, v in data.items() if k.startswith("chat_session_"))

    st = await status(stack)
    assert st["migration_status"] == "completed" and st["migration_id"] == result["migration_id"]
    code, package, _ = await export(stack)
    assert code == 200
    assert_exported(data, result, package)

    code, again, _ = await migrate(stack, data)
    assert code == 409 and again["code"] == "ALREADY_MIGRATED"
    assert again["migration_date"] == st["completed_at"]
    ids = [d["id"] for d in await documents(stack)]
    assert len(ids) == len(set(ids))


async def test_preview_plans_without_writing(stack):
    data = load_fixture("typical")
    code, resp, _ = await call("migration_preview", "POST", body(data), bearer=stack.token())
    assert code == 200 and resp["data"]["dry_run"] is True
    assert resp["data"]["documents"] > 1000 and resp["data"]["secrets"] > 0
    assert (await status(stack))["migration_status"] == "not_started"
    assert await documents(stack) == []
    assert await stack.services.ports.backups.list() == []


BAD_BODIES = [
    (b'{"localStorage_data": {"a": "1"}, "localStorage_data": {}}', "application/json", 400, "DUPLICATE_KEY"),
    (b'{"localStorage_data": {"a": NaN}}', "application/json", 400, "NON_FINITE_NUMBER"),
    (b'{"localStorage_data": {"a": "\xff\xfe"}}', "application/json", 400, "INVALID_ENCODING"),
    (b'{"localStorage_data": ', "application/json", 400, "INVALID_JSON"),
    (b'[1, 2]', "application/json", 400, "VALIDATION_ERROR"),
    (b'{"localStorage_data": {"a": 1}}', "application/json", 400, "VALIDATION_ERROR"),
    (b'{"localStorage_data": {"a": null}}', "application/json", 400, "VALIDATION_ERROR"),
    (b'{"localStorage_data": "x"}', "application/json", 400, "VALIDATION_ERROR"),
    (b'{"localStorage_data": {}, "backup_requested": "yes"}', "application/json", 400, "VALIDATION_ERROR"),
    (b'{"localStorage_data": {}, "tenantId": "other"}', "application/json", 400, "VALIDATION_ERROR"),
    (b'{}', "application/json", 400, "VALIDATION_ERROR"),
    (b'{"localStorage_data": {"a": "1"}}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"localStorage_data": {"a": "1"}}', "application/json; charset=latin-1", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"a":' * 50 + b'1' + b'}' * 50, "application/json", 400, "JSON_TOO_DEEP"),
    (b'[' * 100_000 + b']' * 100_000, "application/json", 400, "JSON_TOO_DEEP"),
]


@pytest.mark.parametrize("raw,ctype,code,error", BAD_BODIES, ids=[b[3] + str(i) for i, b in enumerate(BAD_BODIES)])
async def test_bad_input_is_refused_and_changes_nothing(stack, raw, ctype, code, error):
    for name in ("migrate_localstorage", "migration_preview"):
        status_code, resp, _ = await call(name, "POST", raw=raw, headers={"content-type": ctype},
                                          bearer=stack.token())
        assert (status_code, resp["code"]) == (code, error)
        assert set(resp) >= {"error", "code"} and "Traceback" not in resp["error"]
    assert (await status(stack))["migration_status"] == "not_started"
    assert await documents(stack) == []


async def test_oversized_body_is_413(stack):
    stack.settings.max_body_bytes = 1000
    code, resp, _ = await migrate(stack, {"theme": "x" * 2000})
    assert (code, resp["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert await documents(stack) == []


async def test_validation_error_does_not_echo_values(stack):
    secret = "sk-" + "z" * 40
    code, resp, _ = await call("migrate_localstorage", "POST", {"localStorage_data": {"k": 5}, "x": secret},
                               bearer=stack.token())
    assert code == 400 and secret not in json.dumps(resp)


async def test_two_concurrent_migrations_one_wins_no_duplicates(stack):
    data = load_fixture("typical")
    results = await asyncio.gather(migrate(stack, data), migrate(stack, data))
    codes = sorted(r[0] for r in results)
    assert codes == [200, 409]
    loser = next(r[1] for r in results if r[0] == 409)
    assert loser["code"] in ("MIGRATION_IN_PROGRESS", "ALREADY_MIGRATED")
    winner = next(r[1] for r in results if r[0] == 200)["data"]
    docs = await documents(stack)
    assert len(docs) == len({d["id"] for d in docs})
    record = await stack.services.ports.documents.read(("contoso", "user-1"), record_id("user-1"))
    assert len(docs) == record["documentCount"]
    code, package, _ = await export(stack)
    assert_exported(data, winner, package)


async def assert_retry_converges(stack, data) -> None:
    """The second attempt completes: no duplicate, no stale document, nothing lost."""
    code, resp, _ = await migrate(stack, data)
    assert code == 200
    docs = await documents(stack)
    record = await stack.services.ports.documents.read(("contoso", "user-1"), record_id("user-1"))
    assert record["attempt"] == 2 and len(docs) == len({d["id"] for d in docs}) == record["documentCount"]
    assert_exported(data, resp["data"], (await export(stack))[1])


class _Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler marks the migration failed."""


class _FailingWrites:
    """A document store that writes part of a write set, then fails: what a non-atomic store (Cosmos) can
    leave behind when the network or the process goes away mid-way."""

    def __init__(self, inner, keep: int, error: BaseException):
        self.inner, self.keep, self.error, self.armed = inner, keep, error, True

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def write_set(self, pk, upserts, deletes=()):
        if self.armed:
            self.armed = False
            await self.inner.write_set(pk, list(upserts)[: self.keep], ())
            raise self.error
        return await self.inner.write_set(pk, upserts, deletes)


async def test_failure_midway_is_retryable_and_converges(stack):
    data = load_fixture("typical")
    ports = stack.services.ports
    ports.documents = _FailingWrites(ports.documents, keep=300, error=DependencyUnavailable("down", 3))
    code, resp, headers = await migrate(stack, data)
    assert (code, resp["code"]) == (503, "DEPENDENCY_UNAVAILABLE") and headers["Retry-After"] == "3"
    assert (await status(stack))["migration_status"] == "failed"
    assert len(await documents(stack)) == 300

    await assert_retry_converges(stack, data)


async def test_crash_midway_resumes_after_lease_expiry(stack):
    data = load_fixture("typical")
    svc = stack.services.migration
    ports = stack.services.ports
    ports.documents = _FailingWrites(ports.documents, keep=500, error=_Crash())
    with pytest.raises(_Crash):
        await migrate(stack, data)
    assert (await status(stack))["migration_status"] == "in_progress"
    code, resp, _ = await migrate(stack, data)
    assert (code, resp["code"]) == (409, "MIGRATION_IN_PROGRESS")

    real_clock = svc.clock
    svc.clock = lambda: real_clock() + stack.settings.lease_seconds + 1  # the dead attempt's lease runs out
    assert (await status(stack))["migration_status"] == "failed"
    await assert_retry_converges(stack, data)


async def test_changed_payload_after_failure_leaves_no_stale_documents(stack):
    data = load_fixture("typical")
    ports = stack.services.ports
    ports.documents = _FailingWrites(ports.documents, keep=10_000, error=DependencyUnavailable("down"))
    assert (await migrate(stack, data))[0] == 503
    smaller = {k: v for k, v in data.items() if not k.startswith("chat_session_sess")}
    code, resp, _ = await migrate(stack, smaller)
    assert code == 200
    record = await ports.documents.read(("contoso", "user-1"), record_id("user-1"))
    assert len(await documents(stack)) == record["documentCount"]
    package = (await export(stack))[1]
    assert set(package["rollback_data"]) == set(smaller) - {"auth_token"}


async def test_other_tenants_keys_change_nothing_of_theirs(stack):
    mine = load_fixture("typical", tenant="contoso")
    theirs = load_fixture("typical", tenant="fabrikam", user="user-9", seed=2)
    foreign = {k: v for k, v in theirs.items() if "fabrikam" in k}
    payload = {**mine, **foreign}
    code, resp, _ = await migrate(stack, payload)
    assert code == 200
    ignored = {i["key"]: i["reason"] for i in resp["data"]["ignored"]}
    assert all(ignored[k] == "other_tenant" for k in foreign)
    # Nothing of fabrikam anywhere: not its partition, not its users, not a backup, not a secret reference.
    assert await stack.services.ports.documents.find("migration", tenant_id="fabrikam") == []
    for user in ("user-1", "user-9"):
        assert await documents(stack, "fabrikam", user) == []
    assert all(b.startswith("contoso/") for b in await stack.services.ports.backups.list())
    backup = json.loads(await stack.services.ports.backups.read(resp["data"]["backup"]["path"].split("/", 1)[1]))
    assert not set(backup["localStorage"]) & set(foreign)

    # The other tenant's token sees only its own (empty) state, and can migrate its own data untouched.
    assert (await status(stack, "fabrikam", "user-1"))["migration_status"] == "not_started"
    code, resp_b, _ = await export(stack, "fabrikam", "user-1")
    assert (code, resp_b["code"]) == (404, "NOT_MIGRATED")
    code, resp_b, _ = await migrate(stack, theirs, "fabrikam", "user-9")
    assert code == 200
    assert_exported(theirs, resp_b["data"], (await export(stack, "fabrikam", "user-9"))[1])
    assert_exported(payload, resp["data"], (await export(stack))[1])


async def test_lone_surrogates_and_odd_values_survive(stack):
    data = {
        "theme": "dark\ud83d",                                 # cut in the middle of an emoji
        "ui_preferences_contoso": json.dumps({"title": "x\udc00y"}),
        "chat_session_s1": json.dumps([{"role": "user", "content": "hi \ud800", "timestamp": "garbage"}]),
        "chat_session_s2": "not json {",
        "ai_agents_contoso": "",
        "user_llm_configs_contoso": "null",
        "tenant_mcp_servers_contoso": json.dumps({"m1": {"id": "m1", "env": {"TOKEN": "secret-\ud800"}}}),
        "something_else": "kept",
    }
    code, resp, _ = await migrate(stack, data)
    assert code == 200, resp
    q = {i["key"]: i["reason"] for i in resp["data"]["quarantined"]}
    assert q == {"chat_session_s2": "invalid_json", "ai_agents_contoso": "invalid_json",
                 "user_llm_configs_contoso": "unexpected_shape", "something_else": "unknown_key"}
    code, package, _ = await export(stack)
    assert package["rollback_data"]["theme"] == "dark\ud83d"
    assert package["rollback_data"]["chat_session_s2"] == "not json {"
    assert package["rollback_data"]["ai_agents_contoso"] == ""
    assert_exported(data, resp["data"], package)


async def test_backup_off_writes_no_backup(stack):
    code, resp, _ = await migrate(stack, load_fixture("typical"), backup_requested=False)
    assert code == 200 and resp["data"]["backup"] is None
    assert await stack.services.ports.backups.list() == []


async def test_blob_function_records_the_backup_manifest(stack):
    data = load_fixture("typical")
    code, resp, _ = await migrate(stack, data)
    path = resp["data"]["backup"]["path"].split("/", 1)[1]
    blob = await stack.services.ports.backups.read(path)
    fn, trigger = registered()["record_backup"]
    await fn(InputStream(data=blob, name=f"backups/{path}", length=len(blob)))
    doc = await stack.services.ports.documents.read(("contoso", "user-1"), f"backup.{resp['data']['migration_id']}")
    assert doc["verified"] is True and doc["sha256"] == resp["data"]["backup"]["sha256"]
    assert doc["keyCount"] == len(data) - 1 and doc["size"] == len(blob)
    # A blob that is not where its content says it belongs is not recorded.
    await fn(InputStream(data=blob, name="backups/fabrikam/user-1/x.json", length=len(blob)))
    assert await stack.services.ports.documents.find("backup", tenant_id="fabrikam") == []


async def test_health_and_openapi(stack):
    code, report, _ = await call("health")
    assert code == 200 and report["status"] == "ok"
    code, doc, _ = await call("openapi_document")
    routes = {"/" + t.route for _, t in registered().values() if t.get_binding_name() == "httpTrigger"}
    assert routes - {"/openapi.json"} <= set(doc["paths"])
    assert doc["components"]["schemas"]["MigrateRequest"]["required"] == ["localStorage_data"]


async def test_retry_with_keys_in_another_order_converges(stack):
    """Browsers do not promise an order for localStorage keys: the retry's backup must still match."""
    data = load_fixture("typical")
    ports = stack.services.ports
    ports.documents = _FailingWrites(ports.documents, keep=0, error=DependencyUnavailable("down"))
    assert (await migrate(stack, data))[0] == 503          # after the backup was written
    assert len(await ports.backups.list()) == 1
    reordered = dict(reversed(list(data.items())))
    code, resp, _ = await migrate(stack, reordered)
    assert code == 200, resp
    assert len(await ports.backups.list()) == 1             # the same bytes: the same write-once backup


class _SlowWrites:
    def __init__(self, inner, delay: float):
        self.inner, self.delay = inner, delay

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def write_set(self, pk, upserts, deletes=()):
        await asyncio.sleep(self.delay)
        return await self.inner.write_set(pk, upserts, deletes)


async def test_a_slow_attempt_keeps_its_lease_and_a_second_tab_is_refused(stack):
    stack.settings.lease_seconds = 0.6
    data = load_fixture("typical")
    ports = stack.services.ports
    ports.documents = _SlowWrites(ports.documents, delay=1.5)  # writes outlast the lease: the heartbeat renews
    first = asyncio.ensure_future(migrate(stack, data))
    await asyncio.sleep(1.0)
    other = {"theme": "light"}
    code, resp, _ = await migrate(stack, other)
    assert (code, resp["code"]) == (409, "MIGRATION_IN_PROGRESS")
    code, resp, _ = await first
    assert code == 200
    ports.documents = ports.documents.inner
    assert_exported(data, resp["data"], (await export(stack))[1])
