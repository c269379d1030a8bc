"""Every browser of a user migrates (issue 11), end to end: two (or more) browser contexts of one user with
different localStorage, through the demo modal and the local host: the second browser sees what it would add,
merges and cleans up; a rollback and the re-migration after it; a JSON round trip; browsers merging at once.
The client alone against a scripted `fetch` is test_browser_merge_client.py.
"""
from __future__ import annotations

import json

import pytest

from ..helpers import load_fixture
from .browser_support import screenshot, seed_storage, storage_snapshot, wait_state

pytestmark = pytest.mark.e2e

KEY_STATES = "els => els.map(e => [e.dataset.key, e.dataset.state])"  # the modal's per-key list
LAST_SENT = "() => Object.fromEntries(Object.entries(window.migrationDemo.client.lastMigration.sent))"


def browser_b_data(a: dict[str, str]) -> dict[str, str]:
    """Another browser of the same user: the generator's other seed (its own 25 sessions, agents, configs), plus
    an agent identical to one of A's, one of A's agents edited here (a conflict), A's global session continued
    here, another theme (a conflict), keys outside the plan's families, and an analytics key."""
    b = load_fixture("typical", seed=2)
    a_agents = json.loads(a["ai_agents_contoso"])
    edited = {**a_agents[1], "name": a_agents[1]["name"] + " (edited on B)"}
    b["ai_agents_contoso"] = json.dumps([a_agents[0], edited, *json.loads(b["ai_agents_contoso"])[:3]])
    more = [{"id": "msg_b_more_1", "role": "user", "content": "continued on B", "timestamp": 1767225600000},
            {"id": "msg_b_more_2", "role": "assistant", "content": "still here", "timestamp": 1767225601000}]
    b["chat_session_contoso_global"] = json.dumps(json.loads(a["chat_session_contoso_global"]) + more)
    b["theme"] = "light"
    b.update({"language": "de", "draft_42": "half a sentence", "_ga": "GA1.1.42.42"})
    return b


def open_browser(browser, url_first: str, data: dict[str, str]):
    ctx = browser.new_context(viewport={"width": 1180, "height": 900})
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url_first)
    seed_storage(page, data)
    return ctx, page, errors


def export_holds(page, package: dict, data: dict[str, str]) -> list[str]:
    """Keys of `data` not fully stored in the export (live or as conflict copies), judged by the client's rule."""
    return page.evaluate("""async ([pkg, data]) => {
        const { isFullyStored } = await import('/migration-client.js');
        const copies = {};
        for (const c of pkg.conflicts || []) (copies[c.key] ||= []).push(c.value);
        return Object.keys(data).filter((k) => !isFullyStored(data[k],
            [...(k in pkg.rollback_data ? [pkg.rollback_data[k]] : []), ...(copies[k] || [])]));
    }""", [package, data])


def test_second_browser_sees_what_it_would_add_merges_and_cleans_up(local_api, browser, static_origin):
    api = local_api.start()
    a_data = load_fixture("typical")
    b_data = browser_b_data(a_data)
    blank = f"{static_origin}/demo/index.html"
    ctx_a, page_a, errors_a = open_browser(browser, blank, a_data)
    ctx_b, page_b, errors_b = open_browser(browser, blank, b_data)
    try:
        # Browser A migrates first: a plain migration.
        page_a.goto(api.demo_url())
        wait_state(page_a, "ready", outcome="first")
        page_a.click("#btn-migrate")
        wait_state(page_a, "success", outcome="migrated")
        assert page_a.evaluate("() => window.migrationDemo.lastResult.merge") is None
        a_sent = {k: v for k, v in a_data.items() if k != "auth_token"}

        # Browser B: the account is migrated, yet the modal opens and says what B would add.
        page_b.goto(api.demo_url())
        wait_state(page_b, "ready", outcome="merge")
        assert page_b.is_visible("#merge-box")
        plan = page_b.evaluate("() => window.migrationDemo.lastPlan")
        states = {k["key"]: k["state"] for k in plan["stored"]["keys"]}
        b_own_sessions = [k for k in b_data if k.startswith("chat_session_sess_")]
        assert len(b_own_sessions) == 25 and all(states[k] == "new" for k in b_own_sessions)
        assert states["theme"] == "conflict" and states["ai_agents_contoso"] in ("conflict", "changed")
        assert states["chat_session_contoso_global"] == "changed" and states["language"] == "new"
        assert "_ga" not in states and "auth_token" not in states
        text = page_b.inner_text("#merge-text")
        assert "not in your account yet" in text
        if plan.get("merge"):  # the server's dry-run merge counts items: "25 chat sessions and 3 agents"
            assert "25 chat sessions" in text and "3 agents" in text, text
        else:
            assert f"{plan['stored']['counts']['new']} keys" in text, text
        shown = dict(page_b.eval_on_selector_all("#merge-keys li", KEY_STATES))
        assert shown == {k: s for k, s in states.items() if s != "unchanged"}
        screenshot(page_b, "merge-01-second-browser-would-add")
        assert api.status()["migration_status"] == "completed"  # the preview wrote nothing
        assert len(api.status()["browsers"]) == 1

        page_b.click("#btn-migrate")
        wait_state(page_b, "success", outcome="merged")
        result = page_b.evaluate("() => window.migrationDemo.lastResult")
        merge = result["merge"]
        assert merge["by_family"]["chat_sessions"]["added"] == 25
        assert merge["by_family"]["agents"]["added"] == 3 and merge["by_family"]["agents"]["unchanged"] == 1
        assert merge["conflicts"] >= 2  # A's edited agent and the theme
        page_b.wait_for_selector("#conflicts-box:not([hidden])")
        listed = set(page_b.eval_on_selector_all("#conflict-list li", "els => els.map(e => e.dataset.key)"))
        assert {"theme", "ai_agents_contoso"} <= listed
        page_b.click("#result-details summary")
        screenshot(page_b, "merge-02-second-browser-merged")

        # Nothing of either browser is lost: every key each sent is stored, live or as a conflict copy.
        code, package = api.export()
        assert code == 200
        b_sent = page_b.evaluate(LAST_SENT)
        assert set(b_sent) == set(b_data) - {"auth_token", "_ga"}
        assert export_holds(page_b, package, b_sent) == []
        assert export_holds(page_b, package, a_sent) == []
        st_ = api.status()
        browsers = {page_a.evaluate("() => localStorage.getItem('migration_browser_id')"),
                    page_b.evaluate("() => localStorage.getItem('migration_browser_id')")}
        assert set(st_["browsers"]) == browsers and len(browsers) == 2

        # Cleanup on B removes only keys whose every item the export holds; one edited since stays.
        edited_key = b_own_sessions[0]
        page_b.evaluate("(k) => localStorage.setItem(k, JSON.stringify([...JSON.parse(localStorage.getItem(k)), "
                        "{id: 'late', role: 'user', content: 'typed after the merge'}]))", edited_key)
        page_b.click("#btn-cleanup")
        page_b.wait_for_selector("#cleanup-result[data-removed]", state="attached")
        removed = set(page_b.evaluate("() => window.migrationDemo.lastCleanup"))
        quarantined = {i["key"] for i in result["quarantined"]}
        assert {"language", "draft_42"} <= quarantined
        assert removed == set(b_sent) - quarantined - {i["key"] for i in result["ignored"]} - {edited_key}
        left = storage_snapshot(page_b)
        assert {k: left[k] for k in quarantined | {"auth_token", "_ga"}} == \
            {k: b_data[k] for k in quarantined | {"auth_token", "_ga"}}
        screenshot(page_b, "merge-03-second-browser-cleaned-up")

        # Next load: B holds one session with a message the account lacks, so it is offered again; A has nothing new.
        page_b.reload()
        wait_state(page_b, "ready", outcome="merge")
        assert dict(page_b.eval_on_selector_all("#merge-keys li", KEY_STATES)) \
            == {edited_key: "changed"}
        page_a.reload()
        wait_state(page_a, "not-needed")
        assert errors_a == [] and errors_b == []
    finally:
        ctx_a.close()
        ctx_b.close()


def test_rollback_then_reopened_migration_keeps_what_the_other_browser_added(local_api, browser, static_origin):
    """A and B merged; an emergency rollback puts the merged data into A's localStorage; A keeps working on it
    (edits one of its agents, starts a session); once the rollback is lifted A's re-migration is a merge that
    updates A's own agent (not a conflict) and adds the session, and nothing B contributed is lost."""
    api = local_api.start()
    a_data = load_fixture("typical", sessions=3)
    b_data = {**load_fixture("typical", seed=2, sessions=4), "language": "de"}
    blank = f"{static_origin}/demo/index.html"
    ctx_a, page_a, errors_a = open_browser(browser, blank, a_data)
    ctx_b, page_b, errors_b = open_browser(browser, blank, b_data)
    try:
        for page, outcome in ((page_a, "migrated"), (page_b, "merged")):
            page.goto(api.demo_url())
            wait_state(page, "ready")
            page.click("#btn-migrate")
            wait_state(page, "success", outcome=outcome)
        b_sent = page_b.evaluate(LAST_SENT)

        assert api.rollback("contoso")[0] == 200
        page_a.reload()
        wait_state(page_a, "rollback", outcome="restored")
        restored = storage_snapshot(page_a)
        assert {k for k in b_sent if k.startswith("chat_session_sess_")} <= set(restored)  # B's sessions too
        page_a.evaluate("""() => {
            const agents = JSON.parse(localStorage.getItem('ai_agents_contoso'));
            agents[0].name = 'Renamed during the rollback';
            localStorage.setItem('ai_agents_contoso', JSON.stringify(agents));
            localStorage.setItem('chat_session_sess_during_rollback',
                JSON.stringify([{ id: 'r1', role: 'user', content: 'written during the rollback' }]));
        }""")
        assert api.rollback("contoso", active=False)[0] == 200

        page_a.reload()
        wait_state(page_a, "ready", outcome="merge")
        states = dict(page_a.eval_on_selector_all("#merge-keys li", KEY_STATES))
        assert states == {"ai_agents_contoso": "changed", "chat_session_sess_during_rollback": "new"}
        screenshot(page_a, "merge-04-after-rollback-would-add")
        page_a.click("#btn-migrate")
        wait_state(page_a, "success", outcome="merged")
        merge = page_a.evaluate("() => window.migrationDemo.lastResult.merge")
        # Re-saving the list re-serialises A's agent with `"temperature": 1.0` as `1`, which the server counts as
        # an update too (see test_json_round_trip_in_the_browser_changes_nothing): 1 or 2 updates, never a conflict.
        assert (merge["added"], merge["conflicts"]) == (1, 0) and merge["updated"] in (1, 2), merge
        assert merge["by_family"]["agents"]["updated"] == merge["updated"]

        code, package = api.export()
        live_agents = json.loads(package["rollback_data"]["ai_agents_contoso"])
        assert live_agents[0]["name"] == "Renamed during the rollback"
        assert not [c for c in package["conflicts"] if c["key"] == "ai_agents_contoso"]
        assert export_holds(page_a, package, b_sent) == []
        a_now = {k: v for k, v in storage_snapshot(page_a).items()
                 if k not in ("auth_token", "migration_completed", "migration_date", "migration_browser_id")}
        assert export_holds(page_a, package, a_now) == []
        assert errors_a == [] and errors_b == []
    finally:
        ctx_a.close()
        ctx_b.close()


def test_json_round_trip_in_the_browser_changes_nothing(local_api, browser, static_origin):
    """An app that reads the merged agents list and saves it again (JSON.parse then JSON.stringify, as every app
    does) holds the same items: `"temperature": 1.0` comes back as `1`. Nothing is new, changed or in conflict."""
    api = local_api.start()
    a_data = load_fixture("typical", sessions=1)
    assert '"temperature": 1.0' in a_data["ai_agents_contoso"]  # the fixture has such an agent
    code, body, _ = api.call("POST", "/migration/migrate-localstorage",
                             {"localStorage_data": a_data, "merge": True, "browser_id": "browser-a"})
    assert code == 200, body
    ctx, page, errors = open_browser(browser, f"{static_origin}/demo/index.html", {})
    try:
        code, package = api.export()
        seed_storage(page, package["rollback_data"])  # another browser, restored from the package
        page.evaluate("() => localStorage.setItem('ai_agents_contoso', "
                      "JSON.stringify(JSON.parse(localStorage.getItem('ai_agents_contoso'))))")
        page.goto(api.demo_url())
        page.wait_for_selector('#migration-modal[data-state="ready"], #migration-modal[data-state="not-needed"]',
                               state="attached")
        assert page.evaluate("() => window.migrationDemo.lastPlan?.stored?.keys.filter((k) => k.state !== "
                             "'unchanged')") in (None, [])
        assert page.get_attribute("#migration-modal", "data-state") == "not-needed"
        assert errors == []
    finally:
        ctx.close()


def test_two_browsers_merging_at_once_both_land(local_api, browser, static_origin):
    """B and C click at the same moment: the server lets one merge through at a time (409
    MIGRATION_IN_PROGRESS to the other, whose client waits and retries); both land, nothing is lost."""
    api = local_api.start()
    a_data = load_fixture("typical", sessions=2)
    code, body, _ = api.call("POST", "/migration/migrate-localstorage",
                             {"localStorage_data": a_data, "merge": True, "browser_id": "browser-a"})
    assert code == 200, body
    blank = f"{static_origin}/demo/index.html"
    others = [{**load_fixture("typical", seed=seed, sessions=6), "language": lang}
              for seed, lang in ((3, "fr"), (4, "nl"))]
    opened = [open_browser(browser, blank, data) for data in others]
    try:
        for _, page, _ in opened:
            page.goto(api.demo_url())
            wait_state(page, "ready", outcome="merge")
        for _, page, _ in opened:  # as close together as the driver allows
            page.evaluate("() => { document.querySelector('#btn-migrate').click(); }")
        for _, page, _ in opened:
            wait_state(page, "success", outcome="merged")
        codes = api.migrate_codes()
        assert codes.count(200) == 3 and set(codes) <= {200, 409}, codes
        code, package = api.export()
        assert export_holds(opened[0][1], package, {k: v for k, v in a_data.items() if k != "auth_token"}) == []
        for (_, page, errors), data in zip(opened, others, strict=True):
            sent = page.evaluate(LAST_SENT)
            assert set(sent) == set(data) - {"auth_token"}
            assert export_holds(page, package, sent) == []
            assert errors == []
        assert len(api.status()["browsers"]) == 3
    finally:
        for ctx, _, _ in opened:
            ctx.close()
