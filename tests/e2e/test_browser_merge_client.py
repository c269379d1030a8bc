"""Every browser of a user migrates (issue 11), the client's side: migration-client.js alone against a scripted
`fetch` in Chromium (which keys it sends, its browser id, when it offers a merge, retries while another browser
merges, which keys count as stored and what cleanup may remove) and the demo modal's wording of a merge preview.
The two-browser flows through the demo and the local host are test_browser_merge_flows.py.
"""
from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from .browser_support import CLIENT_HARNESS, seed_storage, storage_snapshot

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


# --- what the modal says a merge would add ----------------------------------------------------------------

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
