"""Issue 11 through the registered functions, on every adapter stack: browsers, merge, conflicts, preview,
status, export, rollback, secrets and validation of merged users."""
from __future__ import annotations

import json

import pytest

from migration.domain.planner import DATA_TYPES

from ..helpers import call
from .test_bounds import small as small_limits
from .test_migration_functions import body, documents, export, status
from .test_secret_lifecycle import rollback_cycle

T = "contoso"


async def send(stack, data, browser=None, merge=None, route="migrate_localstorage", user="user-1"):
    extra = {k: v for k, v in (("browser_id", browser), ("merge", merge)) if v is not None}
    return await call(route, "POST", body(data, **extra), bearer=stack.token(T, user))


def agents(*items) -> str:
    return json.dumps(list(items))


A_DATA = {
    f"ai_agents_{T}": agents({"id": "a1", "name": "Writer"}, {"id": "a2", "name": "Coder"}),
    f"user_llm_configs_{T}": json.dumps([{"id": "c1", "provider": "openai", "apiKey": "sk-A-secret-value-0001"}]),
    "chat_session_s1": json.dumps([{"role": "user", "content": "hi"}]),
    "theme": "dark",
}
B_DATA = {
    f"ai_agents_{T}": agents({"id": "a1", "name": "Writer"}, {"id": "a2", "name": "Coder (B)"},
                             {"id": "b1", "name": "Translator"}),
    f"user_llm_configs_{T}": json.dumps([{"id": "c1", "provider": "openai", "apiKey": "sk-B-secret-value-0002"}]),
    "chat_session_s1": json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]),
    "chat_session_s2": json.dumps([{"role": "user", "content": "B only"}]),
    "theme": "dark",
    "language": "fr",
    "migration_browser_id": "browser-b",
}


async def stored_docs(stack) -> dict[str, dict]:
    return {d["id"]: {k: v for k, v in d.items() if not k.startswith("_")} for d in await documents(stack)}


@pytest.mark.parametrize("browser_id", ["", "a" * 65, "white space", "é", "../x", "a/b", 7, None, True])
async def test_a_bad_browser_id_is_400_and_writes_nothing(stack, browser_id):
    code, resp, _ = await call("migrate_localstorage", "POST", body(A_DATA, browser_id=browser_id),
                               bearer=stack.token(T, "user-1"))
    assert (code, resp["code"]) == (400, "VALIDATION_ERROR")
    assert await documents(stack) == [] and (await status(stack))["migration_status"] == "not_started"


async def test_second_browser_merges_with_zero_loss(stack):
    code, first, _ = await send(stack, A_DATA, "browser-a")
    assert code == 200 and first["data"]["merge"] is None and first["data"]["browser_id"] == "browser-a"

    # Without merge: the seed's 409, now saying how many sent keys hold unsaved data.
    code, resp, _ = await send(stack, B_DATA, "browser-b")
    assert (code, resp["code"]) == (409, "ALREADY_MIGRATED")
    # agents (new b1 + conflict a2), configs (conflict), s1 (continued), s2 (new), language (new); theme equal
    assert resp["unsaved_keys"] == 5

    code, preview, _ = await send(stack, B_DATA, "browser-b", route="migration_preview")
    assert code == 200
    states = {k["key"]: k["state"] for k in preview["data"]["stored"]["keys"]}
    assert states == {f"ai_agents_{T}": "conflict", f"user_llm_configs_{T}": "conflict",
                      "chat_session_s1": "changed", "chat_session_s2": "new", "theme": "unchanged",
                      "language": "new"}
    assert preview["data"]["stored"]["counts"] == {"new": 2, "unchanged": 1, "changed": 1, "conflict": 2}
    before = await stored_docs(stack)

    code, resp, _ = await send(stack, B_DATA, "browser-b", merge=True)
    assert code == 200, resp
    m = resp["data"]["merge"]
    assert m["by_family"]["agents"] == {"added": 1, "unchanged": 1, "updated": 0, "conflicts": 1}
    assert m["by_family"]["llm_configs"]["conflicts"] == 1
    assert m["by_family"]["chat_sessions"] == {"added": 1, "unchanged": 0, "updated": 1, "conflicts": 0}
    assert m["by_family"]["preferences"] == {"added": 0, "unchanged": 1, "updated": 0, "conflicts": 0}
    assert m["by_family"]["unknown"]["added"] == 1
    assert (m["added"], m["unchanged"], m["updated"], m["conflicts"]) == (3, 2, 1, 2)
    assert {"key": "migration_browser_id", "reason": "client_marker"} in resp["data"]["ignored"]

    code, package, _ = await export(stack)
    data = {k: json.loads(v) if k != "theme" and k != "language" else v for k, v in package["rollback_data"].items()}
    assert [a["id"] for a in data[f"ai_agents_{T}"]] == ["a1", "a2", "b1"]          # stored order, then new
    assert data[f"ai_agents_{T}"][1]["name"] == "Coder"                              # the stored one stays live
    assert len(data["chat_session_s1"]) == 2 and data["chat_session_s2"][0]["content"] == "B only"
    assert package["rollback_data"]["language"] == "fr"
    copies = {(c["key"], c["browser_id"]): c for c in package["conflicts"]}
    assert json.loads(copies[(f"ai_agents_{T}", "browser-b")]["value"]) == [{"id": "a2", "name": "Coder (B)"}]
    assert json.loads(copies[(f"user_llm_configs_{T}", "browser-b")]["value"])[0]["apiKey"] == \
        "sk-B-secret-value-0002"                                                      # restored from the vault
    assert len(package["conflicts"]) == 2

    # No secret in any document; unchanged documents were not rewritten.
    after = await stored_docs(stack)
    assert "sk-B-secret" not in json.dumps(after) and "sk-A-secret" not in json.dumps(after)
    kept = [i for i in before if i in after and before[i] == after[i]]
    # a2 (B's version is a copy, its holders unchanged) and s1's first message were not rewritten; a1 was
    # (B joined its holders).
    assert sorted(after[i]["position"] for i in kept if i.startswith("agent.")) == [1]
    assert any(i.startswith("chat_message.") for i in kept)

    st = await status(stack)
    assert st["migration_status"] == "completed" and set(st["browsers"]) == {"browser-a", "browser-b"}

    # B retries: nothing changes.
    code, again, _ = await send(stack, B_DATA, "browser-b", merge=True)
    assert code == 200 and again["data"]["merge"]["added"] == again["data"]["merge"]["conflicts"] == 0
    assert again["data"]["merge"]["updated"] == 0
    assert {i: d for i, d in (await stored_docs(stack)).items() if d["type"] not in ("manifest",)} == \
        {i: d for i, d in after.items() if d["type"] not in ("manifest",)}

    # A edits its own agent (a2's live version is held by A alone): an update, not a conflict.
    edited = {**A_DATA, f"ai_agents_{T}": agents({"id": "a1", "name": "Writer"}, {"id": "a2", "name": "Coder v2"})}
    code, resp, _ = await send(stack, edited, "browser-a", merge=True)
    assert code == 200
    assert resp["data"]["merge"]["by_family"]["agents"] == {"added": 0, "unchanged": 1, "updated": 1, "conflicts": 0}
    package = (await export(stack))[1]
    live = json.loads(package["rollback_data"][f"ai_agents_{T}"])
    assert [a["name"] for a in live] == ["Writer", "Coder v2", "Translator"]
    assert [json.loads(c["value"]) for c in package["conflicts"] if c["key"] == f"ai_agents_{T}"] == [
        [{"id": "a2", "name": "Coder (B)"}]]                                           # B's copy stays

    # A edits a1, which B holds too: B's version stays (as a copy), A's is a conflict that stays live.
    both = {**edited, f"ai_agents_{T}": agents({"id": "a1", "name": "Writer v3"}, {"id": "a2", "name": "Coder v2"})}
    code, resp, _ = await send(stack, both, "browser-a", merge=True)
    assert resp["data"]["merge"]["by_family"]["agents"] == {"added": 0, "unchanged": 1, "updated": 0, "conflicts": 1}
    package = (await export(stack))[1]
    assert json.loads(package["rollback_data"][f"ai_agents_{T}"])[0]["name"] == "Writer"
    assert [{"id": "a1", "name": "Writer v3"}] in [json.loads(c["value"]) for c in package["conflicts"]]


async def test_rollback_then_remigration_from_a_loses_nothing_of_b(stack):
    assert (await send(stack, A_DATA, "browser-a"))[0] == 200
    assert (await send(stack, B_DATA, "browser-b", merge=True))[0] == 200
    before = (await export(stack))[1]
    await rollback_cycle(stack)
    assert (await status(stack))["migration_status"] == "rolled_back"
    # The seed's client re-migrates without merge (and without a browser id): still a merge, nothing deleted.
    code, resp, _ = await send(stack, A_DATA)
    assert code == 200, resp
    after = (await export(stack))[1]
    for key, value in before["rollback_data"].items():
        assert after["rollback_data"][key] == value
    assert {(c["key"], c["value"]) for c in before["conflicts"]} <= {(c["key"], c["value"]) for c in after["conflicts"]}
    assert (await status(stack))["migration_status"] == "completed"


async def test_a_newer_modification_time_becomes_live(stack):
    old = {"theme_settings_contoso": json.dumps({"fontSize": 12, "updatedAt": "2024-01-01T00:00:00Z"})}
    new = {"theme_settings_contoso": json.dumps({"fontSize": 14, "updatedAt": 1717200000000})}  # 2024-06-01
    assert (await send(stack, old, "browser-a"))[0] == 200
    code, resp, _ = await send(stack, new, "browser-b", merge=True)
    assert code == 200 and resp["data"]["merge"]["conflicts"] == 1
    package = (await export(stack))[1]
    assert json.loads(package["rollback_data"]["theme_settings_contoso"])["fontSize"] == 14
    assert [json.loads(c["value"])["fontSize"] for c in package["conflicts"]] == [12]
    assert package["conflicts"][0]["browser_id"] == "browser-a"


async def test_merged_users_pass_validation(stack):
    assert (await send(stack, A_DATA, "browser-a"))[0] == 200
    assert (await send(stack, B_DATA, "browser-b", merge=True))[0] == 200
    admin = stack.token("ops-tenant", "ops-admin", roles=["Migration.Admin"])
    code, sweep, _ = await call("admin_sweep", "POST", bearer=admin)
    assert code == 200, sweep
    mine = [i for i in sweep["validation"]["issues_found"] if i["data"].get("userId") in (None, "user-1")]
    assert mine == [] and sweep["metrics"]["merges"]["merges"] == 1
    assert sweep["metrics"]["merges"]["browsers"] == 2 and sweep["metrics"]["merges"]["conflicts"] == 2
    assert all(d.get("browserId") for d in await stack.services.ports.documents.list_partition(("contoso", "user-1"),
                                                                                              DATA_TYPES))


def sessions(prefix: str, n: int = 5, messages: int = 40) -> dict[str, str]:
    return {f"chat_session_{prefix}{i}": json.dumps([{"role": "user", "content": f"{prefix} {i}.{j}"}
                                                      for j in range(messages)]) for i in range(n)}


small = small_limits  # the fixture of tests/functions/test_bounds.py, under its own name here


async def test_limits_apply_to_the_merged_state_and_a_refused_merge_changes_nothing(small):
    stack = small  # MAX_DOCUMENTS_PER_MIGRATION = 400
    assert (await send(stack, sessions("a"), "browser-a"))[0] == 200
    before = (await export(stack))[1]
    docs = await stored_docs(stack)
    code, resp, _ = await send(stack, sessions("b"), "browser-b", merge=True)   # each payload fits, both do not
    assert (code, resp["code"], resp["limit"]) == (413, "TOO_MANY_DOCUMENTS", 400)
    after = (await export(stack))[1]
    assert (after["rollback_data"], after["conflicts"]) == (before["rollback_data"], before["conflicts"])
    assert await stored_docs(stack) == docs
    assert (await status(stack))["migration_status"] == "completed"
    assert (await send(stack, sessions("b", n=2), "browser-b", merge=True))[0] == 200
