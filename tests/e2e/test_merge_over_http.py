"""Issue 11 through the local host, as a real process over real HTTP: browser A migrates, browser B merges
(new, identical and conflicting items), A merges its own edit (an update), B retries (nothing changes), two
browsers merge at once (one 409 MIGRATION_IN_PROGRESS, its retry lands), rollback, lift, re-migration from
A: nothing B contributed is lost."""
from __future__ import annotations

import json
import threading
import time

import pytest

from migration.domain import merge_items
from migration.domain.merge_items import canonical
from migration.domain.merge_plan import family_of

from ..helpers import DevHostProcess, dev_env, http, load_fixture, settings_from, token

pytestmark = pytest.mark.e2e
T = "contoso"
AGENTS = f"ai_agents_{T}"


@pytest.fixture
def env(tmp_path):
    return dev_env(tmp_path / "data")


def bearer(env, tenant=T, user="user-1", roles=None):
    return token(settings_from(env), tenant, user, roles)


def browsers() -> tuple[dict, dict]:
    a = load_fixture("typical", sessions=3)
    b = load_fixture("typical", seed=2, sessions=3)
    a_agents, b_agents = json.loads(a[AGENTS]), json.loads(b[AGENTS])
    changed = {**a_agents[0], "name": "Renamed on B"}
    b[AGENTS] = json.dumps([changed, a_agents[1], *b_agents])      # a conflict, an identical one, new ones
    b["theme"] = a["theme"]                                          # identical
    b.update(language="fr", sidebar_collapsed="true", draft_42="unsent text", migration_browser_id="browser-b")
    return a, b


def items(key: str, text: str) -> list[str]:
    kind, parts = merge_items.split(family_of(key, T), text)
    return [canonical(v) if kind != "whole" else merge_items.whole_canon(v) for _, v in parts]


def assert_holds(package: dict, sent: dict[str, str], ignored: set[str]) -> None:
    """Every item this browser sent is in the export, live or as a conflict copy (sessions: or continued)."""
    stored: dict[str, list[str]] = {}
    for key, text in package["rollback_data"].items():
        stored.setdefault(key, []).extend(items(key, text))
    for c in package["conflicts"]:
        stored.setdefault(c["key"], []).extend(items(c["key"], c["value"]))
    for key, text in sent.items():
        if key in ignored:
            continue
        for item in items(key, text):
            if key.startswith("chat_session_") and item not in stored[key]:
                assert any(merge_items.continues(json.loads(s), json.loads(item)) for s in stored[key]), key
            else:
                assert item in stored[key], key


def test_two_browsers_merge_over_http(env, tmp_path):
    a, b = browsers()
    with DevHostProcess(env, tmp_path / "host.log").start() as host:
        def post(route, data, browser=None, merge_=None):
            body = {"localStorage_data": data, **({"browser_id": browser} if browser else {}),
                    **({"merge": merge_} if merge_ is not None else {})}
            return http("POST", f"{host.base}/migration/{route}", body, bearer(env))

        def export():
            code, package, _ = http("GET", f"{host.base}/migration/export", bearer=bearer(env))
            assert code == 200
            return package

        code, first, _ = post("migrate-localstorage", a, "browser-a")
        assert code == 200 and first["data"]["merge"] is None

        code, refused, _ = post("migrate-localstorage", b, "browser-b")
        assert (code, refused["code"]) == (409, "ALREADY_MIGRATED") and refused["unsaved_keys"] > 0
        code, preview, _ = post("preview", b, "browser-b")
        states = {k["key"]: k["state"] for k in preview["data"]["stored"]["keys"]}
        assert states[AGENTS] == "conflict" and states["theme"] == "unchanged" and states["language"] == "new"
        assert refused["unsaved_keys"] == sum(s != "unchanged" for s in states.values())

        code, merged, _ = post("migrate-localstorage", b, "browser-b", True)
        assert code == 200, merged
        agents = merged["data"]["merge"]["by_family"]["agents"]
        assert (agents["conflicts"], agents["unchanged"], agents["added"]) == (1, 1, len(json.loads(b[AGENTS])) - 2)
        ignored_b = {i["key"] for i in merged["data"]["ignored"]}
        package = export()
        assert_holds(package, a, {"auth_token"})
        assert_holds(package, b, ignored_b)
        assert json.loads(package["rollback_data"][AGENTS])[0] == json.loads(a[AGENTS])[0]   # stored stays live
        assert package["rollback_data"]["draft_42"] == "unsent text"

        # A edits one of its own items (B does not hold it): an update, not a conflict.
        a_agents = json.loads(a[AGENTS])
        a_agents[2] = {**a_agents[2], "name": "Edited on A"}
        a2 = {**a, AGENTS: json.dumps(a_agents)}
        code, resp, _ = post("migrate-localstorage", a2, "browser-a", True)
        assert code == 200
        assert resp["data"]["merge"]["by_family"]["agents"] == {"added": 0, "unchanged": len(a_agents) - 1,
                                                                "updated": 1, "conflicts": 0}
        assert json.loads(export()["rollback_data"][AGENTS])[2]["name"] == "Edited on A"

        # B retries: nothing changes.
        before = export()
        code, retry, _ = post("migrate-localstorage", b, "browser-b", True)
        m = retry["data"]["merge"]
        assert code == 200 and (m["added"], m["updated"], m["conflicts"]) == (0, 0, 0)
        after = export()
        assert (after["rollback_data"], after["conflicts"]) == (before["rollback_data"], before["conflicts"])

        # Two browsers merge at once: one is refused while the other holds the lease; its client retries.
        c = {**load_fixture("typical", seed=3, sessions=3), "language": "de"}
        d = {**load_fixture("typical", seed=4, sessions=3), "language": "it"}
        results: dict[str, list[int]] = {"browser-c": [], "browser-d": []}
        barrier = threading.Barrier(2)

        def client(browser, data):
            barrier.wait()
            for _ in range(40):
                code, body, _ = post("migrate-localstorage", data, browser, True)
                results[browser].append(code)
                if code != 409:
                    return
                assert body["code"] == "MIGRATION_IN_PROGRESS"
                time.sleep(0.25)
        threads = [threading.Thread(target=client, args=x) for x in (("browser-c", c), ("browser-d", d))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r[-1] for r in results.values()] == [200, 200]
        assert 409 in results["browser-c"] + results["browser-d"], results
        package = export()
        for sent in (a2, b, c, d):
            assert_holds(package, sent, {"auth_token", "migration_browser_id", "current_tenant_id"})
        code, st, _ = http("GET", f"{host.base}/migration/status", bearer=bearer(env))
        assert set(st["browsers"]) == {"browser-a", "browser-b", "browser-c", "browser-d"}

        # Rollback, lift, then A re-migrates (the seed's client: no merge flag): nothing B contributed is lost.
        admin = bearer(env, "ops", "admin-1", ["Migration.Admin"])
        rollback = f"{host.base}/migration/admin/tenants/{T}/rollback"
        assert http("POST", rollback, bearer=admin)[0] == 200
        assert export()["rollback_reason"] == "EMERGENCY_ROLLBACK"
        assert http("DELETE", rollback, bearer=admin)[0] == 200
        code, again, _ = post("migrate-localstorage", a2, "browser-a")
        assert code == 200, again
        final = export()
        for sent, ignored in ((b, ignored_b), (a2, {"auth_token"})):
            assert_holds(final, sent, ignored)
        assert {(x["key"], x["value"]) for x in package["conflicts"]} <= {(x["key"], x["value"])
                                                                            for x in final["conflicts"]}
