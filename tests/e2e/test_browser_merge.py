"""Every browser of a user migrates (issue 11), the client's side.

First migration-client.js alone against a scripted `fetch` (which keys it sends, its browser id, when it offers a
merge, retries while another browser merges, what cleanup may remove); then two browser contexts of one user with
different localStorage against the local host, through the demo modal.
"""
from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ..helpers import load_fixture
from .browser_support import CLIENT_HARNESS, screenshot, seed_storage, storage_snapshot, wait_state

pytestmark = pytest.mark.e2e

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MARKER_KEYS = ["migration_completed", "migration_date", "migration_skipped", "migration_id",
               "use_localstorage_fallback", "rollback_active", "migration_browser_id", "migration_lock"]
DEFAULT_EXCLUDED = ["_ga", "_ga_Q8X7Z", "_gid", "amplitude_unsent_abc", "AMP_abc", "mp_3f2_mixpanel", "ajs_user_id",
                    "ajs_anonymous_id", "_hjSessionUser_1", "intercom.intercom-state", "optimizelyEndUserId",
                    "__stripe_mid", "_fbp"]
AUTH = ["auth_token", "refresh_token", "access_token", "id_token", "msal.token.keys.abc",
        "uid.tid-login.windows.net-accesstoken-client-tid-scope"]
APP_KEYS = ["language", "sidebar_collapsed", "draft_8f1c", "recent_searches", "app_version", "theme",
            "ai_agents_contoso", "chat_session_s1", "ui_preferences_contoso", "current_tenant_id", "gaming_mode",
            "mp3_volume", "__proto__", "constructor"]

KEY_STATES = "els => els.map(e => [e.dataset.key, e.dataset.state])"  # the modal's per-key list
LAST_SENT = "() => Object.fromEntries(Object.entries(window.migrationDemo.client.lastMigration.sent))"


@pytest.fixture
def page(new_page, static_origin):
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")  # no api/token: the page stays idle
    page.evaluate("() => localStorage.clear()")
    page.add_script_tag(content=CLIENT_HARNESS)
    yield page
    assert [e for e in console.errors if "unscripted" in e] == []


def collect(page, store: dict[str, str], exclude: dict | None = None) -> dict:
    seed_storage(page, store)
    return page.evaluate("""async (exclude) => {
        const h = await harness([], { exclude: exclude || undefined });
        const { data, excluded } = h.client.collect();
        return { data: Object.entries(data), excluded: excluded.map((e) => [e.key, e.reason]),
                 plain: Object.keys(h.client.collectLocalStorageData()).sort(),
                 proto: Object.getPrototypeOf(data) === null };
    }""", exclude)


# --- what the client sends ----------------------------------------------------------------------------------

def test_every_key_is_sent_except_credentials_markers_and_the_exclusion_list(page):
    store = {k: f"v-{i}" for i, k in enumerate(APP_KEYS + MARKER_KEYS + DEFAULT_EXCLUDED + AUTH)}
    out = collect(page, store)
    assert dict(out["data"]) == {k: store[k] for k in APP_KEYS}
    reasons = dict(out["excluded"])
    assert reasons == {**{k: "client_marker" for k in MARKER_KEYS}, **{k: "excluded" for k in DEFAULT_EXCLUDED},
                       **{k: "auth_token" for k in AUTH}}
    assert out["plain"] == sorted(APP_KEYS) and out["proto"] is True


def test_exclude_option_replaces_the_default_list_but_never_sends_credentials_or_markers(page):
    store = {k: "v" for k in APP_KEYS + MARKER_KEYS + DEFAULT_EXCLUDED + AUTH}
    out = collect(page, store, {"prefixes": ["draft_"], "keys": ["app_version"]})
    assert dict(out["excluded"]) == {**{k: "client_marker" for k in MARKER_KEYS}, **{k: "auth_token" for k in AUTH},
                                     "draft_8f1c": "excluded", "app_version": "excluded"}
    assert set(dict(out["data"])) == set(APP_KEYS + DEFAULT_EXCLUDED) - {"draft_8f1c", "app_version"}


KEY_ALPHABET = string.ascii_letters + string.digits + "_-.:$ "
key_names = st.one_of(
    st.text(KEY_ALPHABET, min_size=1, max_size=12),
    st.sampled_from(APP_KEYS + MARKER_KEYS + DEFAULT_EXCLUDED + AUTH),
    st.builds(lambda p, s: p + s, st.sampled_from(["_ga", "mp_", "ajs_", "msal.", "migration_", "auth_", "chat_"]),
              st.text(KEY_ALPHABET, max_size=8)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(store=st.dictionaries(key_names, st.text(max_size=20), max_size=25))
def test_no_key_is_dropped_silently(page, store):
    """Every key is either sent unchanged or listed as kept back, never both; credentials are never sent."""
    out = collect(page, store)
    sent, kept = dict(out["data"]), dict(out["excluded"])
    assert set(sent) | set(kept) == set(store) and not set(sent) & set(kept)
    assert sent == {k: store[k] for k in sent}
    assert not {"auth_token", "refresh_token", "access_token", "id_token"} & set(sent)
    assert not {k for k in sent if k.startswith("msal.")} and not set(MARKER_KEYS) & set(sent)


def test_browser_id_is_made_once_and_sent_with_every_preview_and_migrate(page):
    seed_storage(page, {"theme": "dark", "migration_browser_id": "bad id!"})  # a value the server would refuse
    out = page.evaluate("""async () => {
        const preview = { status: 200, body: { success: true, message: '', data: { stored: null } } };
        const h = await harness([preview, ok(), preview]);
        await h.client.preview();
        await h.client.executeMigration();
        const again = (await harness([preview])).client;  // another client (another tab) of this browser
        await again.preview();
        return { bodies: h.calls.map((c) => c.body), id: localStorage.getItem('migration_browser_id'),
                 other: again.browserId() };
    }""")
    ids = {b["browser_id"] for b in out["bodies"]}
    assert ids == {out["id"]} and out["other"] == out["id"] and UUID.match(out["id"])
    assert all(b["merge"] is True for b in out["bodies"])
    assert all("migration_browser_id" not in b["localStorage_data"] for b in out["bodies"])


# --- when a merge is offered ---------------------------------------------------------------------------------

def preview_step(counts):
    stored = None if counts is None else {
        "counts": {"new": 0, "unchanged": 0, "changed": 0, "conflict": 0, **counts},
        "keys": [{"key": "theme", "state": "unchanged"}]}
    return {"status": 200, "body": {"success": True, "message": "", "data": {"dry_run": True, "stored": stored}}}


def status_step(state):
    return {"status": 200, "body": {"migration_status": state, "rollback_active": False, "migration_enabled": True}}


COMPLETED = status_step("completed")
CHECK_CASES = [
    # (what the server says in order, expected answer, requests made)
    ([status_step("not_started")], True, ["GET status"]),
    ([status_step("failed")], True, ["GET status"]),
    ([{"network": True}], True, ["GET status"]),  # the seed's rule: cannot check → offer it
    ([COMPLETED, preview_step({"unchanged": 4})], False, ["GET status", "POST preview"]),
    ([COMPLETED, preview_step({"unchanged": 3, "new": 1})], True, ["GET status", "POST preview"]),
    ([COMPLETED, preview_step({"changed": 1})], True, ["GET status", "POST preview"]),
    ([COMPLETED, preview_step({"conflict": 2})], True, ["GET status", "POST preview"]),
    ([COMPLETED, preview_step(None)], False, ["GET status", "POST preview"]),  # a server that does not merge
    ([COMPLETED, {"network": True}], True, ["GET status", "POST preview"]),
    ([COMPLETED, {"status": 413, "body": {"error": "x", "code": "TOO_MANY_KEYS"}}], True,
     ["GET status", "POST preview"]),
]


@pytest.mark.parametrize("script,expected,requests", CHECK_CASES)
def test_check_migration_needed_asks_the_preview_once_migrated(page, script, expected, requests):
    seed_storage(page, {"ui_preferences_contoso": "{}", "_ga": "GA1.1"})  # any sent key counts, not five prefixes
    out = page.evaluate("""async (script) => {
        const h = await harness(script, { retry: { attempts: 1 } });
        const answer = await h.client.checkMigrationNeeded();
        return { answer, calls: h.calls.map((c) => [c.method, c.url.split('/').pop(), c.body]) };
    }""", script)
    assert out["answer"] is expected
    assert [f"{m} {u.split('-')[0]}" for m, u, _ in out["calls"]] == requests
    for method, _, body in out["calls"]:
        if method == "POST":
            assert body["merge"] is True and body["localStorage_data"] == {"ui_preferences_contoso": "{}"}


def test_nothing_to_send_needs_no_migration_and_no_request(page):
    seed_storage(page, {"_ga": "GA1.1", "auth_token": "t", "migration_completed": "true"})
    out = page.evaluate("async () => { const h = await harness([]); "
                        "return [await h.client.checkMigrationNeeded(), h.calls.length]; }")
    assert out == [False, 0]


def test_auto_migrate_merges_only_when_the_preview_finds_something(page):
    seed_storage(page, {"theme": "dark", "chat_session_b1": "[]"})
    merged = {"success": True, "message": "", "data": {
        "success": True, "migratedRecords": 1, "errors": [], "summary": {}, "migration_id": "m2",
        "manifest": {"received": 2, "migrated": 2, "quarantined": 0, "ignored": 0}, "quarantined": [], "ignored": [],
        "warnings": [], "backup": None, "duration_ms": 5, "completed_at": "2026-01-02T03:04:05.000Z",
        "browser_id": "x", "merge": {"added": 1, "unchanged": 1, "updated": 0, "conflicts": 0, "by_family": {}}}}
    out = page.evaluate("""async ([pending, nothing, merged]) => {
        const completed = { status: 200, body: { migration_status: 'completed', rollback_active: false,
                                                 migration_enabled: true, completed_at: '2026-01-01T00:00:00Z' } };
        const seen = [];
        const h = await harness([completed, nothing, completed, pending, { status: 200, body: merged }]);
        const first = await h.client.autoMigrate({ confirm: () => { throw new Error('asked'); } });
        const second = await h.client.autoMigrate({
          confirm: (info) => { seen.push(info.preview.stored.counts); return true; } });
        return { first: first.action, second: second.action, seen, calls: h.calls.map((c) => c.url.split('/').pop()) };
    }""", [preview_step({"new": 1, "unchanged": 1}), preview_step({"unchanged": 2}), merged])
    assert out["first"] == "not_needed" and out["second"] == "merged"
    assert out["seen"] == [{"new": 1, "unchanged": 1, "changed": 0, "conflict": 0}]
    assert out["calls"] == ["status", "preview", "status", "preview", "migrate-localstorage"]
    assert storage_snapshot(page)["migration_completed"] == "true"


def test_already_migrated_with_unsaved_keys_is_an_error_and_marks_nothing(page):
    """The issue's loss: a 409 ALREADY_MIGRATED must not turn into "completed" while keys are unsaved."""
    seed_storage(page, {"theme": "dark", "chat_session_b1": "[]"})
    out = page.evaluate("""async () => {
        const h = await harness([{ status: 409, body: { error: 'done', code: 'ALREADY_MIGRATED', unsaved_keys: 2,
                                                        migration_date: '2025-12-01T00:00:00.000Z' } }]);
        return { error: await errorOf(h.client.executeMigration()), events: h.events };
    }""")
    assert out["error"] == {"name": "MigrationError", "code": "ALREADY_MIGRATED", "status": 409, "retryable": False,
                            "isError": True}
    assert out["events"][-1] == "failed"
    assert "migration_completed" not in storage_snapshot(page)


@pytest.mark.parametrize("busy,succeeds", [(1, True), (5, True), (6, False)])
def test_another_browser_merging_is_waited_for_then_retried(page, busy, succeeds):
    """409 MIGRATION_IN_PROGRESS (another browser of the user merging) is retried with backoff, 6 attempts."""
    seed_storage(page, {"theme": "dark"})
    out = page.evaluate("""async ([busy]) => {
        const step = { status: 409, body: { error: 'busy', code: 'MIGRATION_IN_PROGRESS' } };
        const h = await harness([...Array(busy).fill(step), ok()],
                                { retry: { attempts: 1, baseDelayMs: 100, maxDelayMs: 1000 }, random: 0.999999 });
        const result = await h.client.executeMigration().then((r) => r.migration_id, (e) => e.code);
        return { result, delays: h.delays, calls: h.calls.length };
    }""", [busy])
    expected_delays = [100, 200, 400, 800, 1000][:min(busy, 5)]
    assert out["delays"] == expected_delays
    assert out["result"] == ("m1" if succeeds else "MIGRATION_IN_PROGRESS")
    assert out["calls"] == min(busy + 1, 6)


# --- what cleanup may remove -----------------------------------------------------------------------------------

A1, A2, A3 = {"id": "a1", "n": 1}, {"id": "a2", "n": 2}, {"id": "a3", "n": 3}
A2_OTHER = {"id": "a2", "n": 22}
M = [{"id": f"m{i}", "content": f"text {i}"} for i in range(4)]
STORED_CASES = [
    # (local value, [live, *conflict copies], every item stored?)
    (json.dumps([A1, A2]), [json.dumps([A1, A2])], True),
    (json.dumps([A1, A2]), [json.dumps([A2, A1, A3])], True),  # merged union, other order
    (json.dumps([A1, A2]), [json.dumps([A1, A2_OTHER]), json.dumps([A2])], True),  # a2 kept as a conflict copy
    (json.dumps([A1, A2]), [json.dumps([A1, A2_OTHER])], False),  # a2 lost
    (json.dumps([A1, A2]), [json.dumps([A1, A2_OTHER]), json.dumps([A2, A3])], False),  # not a one-item copy
    (json.dumps([A1, A1]), [json.dumps([A1])], False),  # a duplicate needs its own stored copy
    (json.dumps([]), [], False),  # not in the export at all
    (json.dumps([]), [json.dumps([A1])], True),
    (json.dumps({"s1": A1, "s2": A2}), [json.dumps({"s1": A1, "s3": A3}), json.dumps({"s2": A2})], True),
    (json.dumps({"s1": A1, "s2": A2}), [json.dumps({"s1": A1, "s2": A2_OTHER})], False),
    (json.dumps(M[:2]), [json.dumps(M)], True),  # a session the stored one continues
    (json.dumps(M), [json.dumps(M[:2])], False),
    (json.dumps({"title": "t", "messages": M[:3]}), [json.dumps({"title": "t", "messages": M})], True),
    (json.dumps({"title": "t", "messages": M}), [json.dumps({"title": "u", "messages": M})], False),
    (json.dumps({"fontSize": 12}), [json.dumps({"fontSize": 14}), json.dumps({"fontSize": 12})], True),
    (json.dumps({"a": 1, "b": 2}), [json.dumps({"a": 1, "b": 3}), json.dumps({"a": 2, "b": 2})], False),
    ("dark", ["light", "dark"], True),
    ("dark", ["light"], False),
    ("not json {", ["not json {"], True),
    ('{"a":1}', ['{ "a" : 1 }'], True),
]


def is_fully_stored(page, local: str, stored: list[str]) -> bool:
    return page.evaluate("""async ([local, stored]) => {
        const { isFullyStored } = await import('/migration-client.js');
        return isFullyStored(local, stored);
    }""", [local, stored])


@pytest.mark.parametrize("local,stored,expected", STORED_CASES)
def test_a_key_is_fully_stored_only_when_each_of_its_items_is(page, local, stored, expected):
    assert is_fully_stored(page, local, stored) is expected


items = st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c", "d"]), "v": st.integers(0, 3)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(local=st.lists(items, max_size=6), extra=st.lists(items, max_size=3), data=st.data())
def test_fully_stored_holds_for_any_split_into_live_and_copies_and_fails_when_an_item_is_missing(
        page, local, extra, data):
    """However a merge spread a browser's items over the live value and one-item conflict copies, the key counts
    as stored; take one item away and it no longer does (unless an equal item is still there)."""
    in_live = data.draw(st.lists(st.booleans(), min_size=len(local), max_size=len(local)))
    live = data.draw(st.permutations([i for i, live_ in zip(local, in_live, strict=True) if live_] + extra))
    copies = [json.dumps([i]) for i, live_ in zip(local, in_live, strict=True) if not live_]
    assert is_fully_stored(page, json.dumps(local), [json.dumps(live), *copies]) is True
    if local:
        gone = data.draw(st.integers(0, len(local) - 1))
        live2, copies2 = list(live), list(copies)
        if in_live[gone]:
            live2.remove(local[gone])
        else:
            copies2.remove(json.dumps([local[gone]]))
        pool = live2 + [json.loads(c)[0] for c in copies2]
        expect = pool.count(local[gone]) >= local.count(local[gone])
        assert is_fully_stored(page, json.dumps(local), [json.dumps(live2), *copies2]) is expect


def test_cleanup_removes_keys_whose_items_are_stored_live_or_as_conflict_copies(page):
    seed_storage(page, {
        "ai_agents_contoso": json.dumps([A1, A2]),  # a1 live, a2 only as a conflict copy: removed
        "user_llm_configs_contoso": json.dumps([{"id": "l1", "model": "x"}]),  # lost to another version: kept
        "chat_session_s1": json.dumps(M[:2]),  # the stored session continues it: removed
        "theme": "dark",  # a conflict copy (the live one is another browser's): removed
        "language": "de",  # quarantined (unknown key): stays in the browser
    })
    out = page.evaluate("""async ([live, conflicts]) => {
        const h = await harness([
          ok({ quarantined: [{ key: 'language', reason: 'unknown_key' }] }),
          { status: 200, body: { tenant_id: 'contoso', migration_id: 'other', rollback_reason: 'USER_EXPORT',
                                 created_at: 'x', rollback_data: live, conflicts } }]);
        await h.client.executeMigration();
        return { removed: (await h.client.cleanup()).sort(), calls: h.calls.map((c) => c.method + ' ' + c.url) };
    }""", [{"ai_agents_contoso": json.dumps([A1, A2_OTHER, A3]),
            "user_llm_configs_contoso": json.dumps([{"id": "l1", "model": "y"}]),
            "chat_session_s1": json.dumps(M), "theme": "light", "language": "de"},
           [{"key": "ai_agents_contoso", "value": json.dumps([A2]), "browser_id": "b", "migration_id": "m"},
            {"key": "theme", "value": "dark", "browser_id": "b", "migration_id": "m"}]])
    assert out["removed"] == ["ai_agents_contoso", "chat_session_s1", "theme"]
    assert out["calls"][-1] == "GET https://api.example.test/api/migration/export"
    assert set(storage_snapshot(page)) == {"user_llm_configs_contoso", "language", "migration_completed",
                                           "migration_date", "migration_browser_id"}


# --- two browsers of one user, through the demo modal and the local host ---------------------------------------

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


ADDITIONS_CASES = [
    ({"merge": {"added": 28, "unchanged": 4, "updated": 1, "conflicts": 2, "by_family": {
        "chat_sessions": {"added": 25, "unchanged": 0, "updated": 1, "conflicts": 0},
        "agents": {"added": 3, "unchanged": 1, "updated": 0, "conflicts": 1},
        "preferences": {"added": 0, "unchanged": 3, "updated": 0, "conflicts": 1}}}},
     "This browser has 25 chat sessions and 3 agents that are not in your account yet. It also has newer versions "
     "of 1 chat session (edited or continued here). 2 items differ from what another browser stored: both "
     "versions will be kept."),
    ({"merge": {"added": 1, "unchanged": 0, "updated": 0, "conflicts": 0, "by_family": {
        "unknown": {"added": 1, "unchanged": 0, "updated": 0, "conflicts": 0}}}},
     "This browser has 1 other item that is not in your account yet."),
    ({"merge": None, "stored": {"counts": {"new": 27, "unchanged": 6, "changed": 3, "conflict": 1}, "keys": []}},
     "This browser has 27 keys that are not in your account yet. 3 keys hold additions or newer versions. 1 key "
     "differs from what another browser stored: both versions will be kept."),
    ({"merge": None, "stored": {"counts": {"new": 0, "unchanged": 6, "changed": 0, "conflict": 0}, "keys": []}},
     "Everything in this browser is already in your account."),
]


@pytest.mark.parametrize("plan,text", ADDITIONS_CASES)
def test_modal_says_what_this_browser_would_add(page, plan, text):
    """From the preview: item counts per family when the server's dry run carries them, else keys by state."""
    plan = {"stored": {"counts": {}, "keys": []}, **plan}
    assert page.evaluate("async (plan) => (await import('/demo/demo.js')).describeAdditions(plan)", plan) == text


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
