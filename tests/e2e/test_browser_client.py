"""migration-client.js on its own, in the browser, against a scripted `fetch`: retries and backoff, what marks
a migration completed, cleanup's checks, and the rollback handler's safety."""
from __future__ import annotations

import pytest

from .browser_support import CLIENT_HARNESS as HARNESS, storage_snapshot

pytestmark = pytest.mark.e2e

DATA = {"ai_agents_contoso": '[{"id":"a1"}]', "theme": "dark", "chat_session_s1": "[]", "auth_token": "secret"}
BROWSER_ID = "migration_browser_id"


def without_browser_id(store: dict[str, str]) -> dict[str, str]:
    """The store minus this browser's id (made on the first request, never sent as data)."""
    assert store.get(BROWSER_ID) is None or len(store[BROWSER_ID]) == 36, store.get(BROWSER_ID)
    return {k: v for k, v in store.items() if k != BROWSER_ID}


@pytest.fixture
def page(new_page, static_origin):
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    page.evaluate("(data) => { localStorage.clear(); for (const k in data) localStorage.setItem(k, data[k]); }", DATA)
    page.add_script_tag(content=HARNESS)
    yield page
    assert [e for e in console.errors if "unscripted" in e] == []


def test_503_retried_honouring_retry_after_then_marked_completed(page):
    out = page.evaluate("""async () => {
        const h = await harness([{ status: 503, headers: { 'Retry-After': '2' },
                                   body: { error: 'busy', code: 'DEPENDENCY_UNAVAILABLE', retry_after: 2 } },
                                 ok()], { retry: { attempts: 3, baseDelayMs: 100 } });
        const result = await h.client.executeMigration();
        return { result, calls: h.calls, delays: h.delays, events: h.events };
    }""")
    assert out["delays"] == [2000]  # Retry-After wins over the 50-100 ms backoff
    assert [c["url"] for c in out["calls"]] == ["https://api.example.test/api/migration/migrate-localstorage"] * 2
    body = out["calls"][0]["body"]
    store = storage_snapshot(page)
    assert body == {"localStorage_data": {k: v for k, v in DATA.items() if k != "auth_token"},
                    "backup_requested": True, "merge": True, "browser_id": store[BROWSER_ID]}
    assert out["calls"][0]["auth"] == "Bearer tok"
    assert out["events"] == ["collecting", "sending", "retrying", "completed"]
    assert out["result"]["alreadyMigrated"] is False and out["result"]["migration_id"] == "m1"
    store = storage_snapshot(page)
    assert store["migration_completed"] == "true" and store["migration_date"] == "2026-01-02T03:04:05.000Z"


def test_network_errors_and_429_back_off_exponentially_capped(page):
    out = page.evaluate("""async () => {
        const h = await harness([{ network: true }, { status: 429, body: { error: 'slow down', code: 'RATE_LIMITED' } },
                                 { network: true }, ok()],
                                { retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 250 }, random: 0.999999 });
        await h.client.executeMigration();
        return h.delays;
    }""")
    assert out == [100, 200, 250]


def test_retries_exhausted_is_a_retryable_error_and_nothing_is_marked(page):
    out = page.evaluate("""async () => {
        const h = await harness([{ status: 503, body: { error: 'x', code: 'DEPENDENCY_UNAVAILABLE' } },
                                 { status: 503, body: { error: 'x', code: 'DEPENDENCY_UNAVAILABLE' } }],
                                { retry: { attempts: 2, baseDelayMs: 10 } });
        const error = await errorOf(h.client.executeMigration());
        return { error, events: h.events };
    }""")
    assert out["error"] == {"name": "MigrationError", "code": "DEPENDENCY_UNAVAILABLE", "status": 503,
                            "retryable": True, "isError": True}
    assert out["events"] == ["collecting", "sending", "retrying", "failed"]
    assert without_browser_id(storage_snapshot(page)) == DATA


@pytest.mark.parametrize("status,code,retryable", [(400, "VALIDATION_ERROR", False), (413, "PAYLOAD_TOO_LARGE", False),
                                                   (403, "MIGRATION_NOT_ENABLED", False),
                                                   (409, "ROLLBACK_ACTIVE", False),
                                                   (500, "MIGRATION_ERROR", True)])
def test_client_errors_are_not_retried(page, status, code, retryable):
    out = page.evaluate("""async ([status, code]) => {
        const h = await harness([{ status, body: { error: 'no', code } }], { retry: { attempts: 5 } });
        return { error: await errorOf(h.client.executeMigration()), calls: h.calls.length };
    }""", [status, code])
    assert out == {"error": {"name": "MigrationError", "code": code, "status": status, "retryable": retryable,
                             "isError": True}, "calls": 1}
    assert without_browser_id(storage_snapshot(page)) == DATA


def test_success_false_is_never_marked_completed(page):
    out = page.evaluate("""async () => {
        const partial = ok({ success: false, errors: ['agents failed'] });
        partial.body.success = true;  // the seed's flaw: envelope says success, the result does not
        const h = await harness([partial]);
        return errorOf(h.client.executeMigration());
    }""")
    assert out["code"] == "MIGRATION_INCOMPLETE" and out["retryable"] is True
    assert without_browser_id(storage_snapshot(page)) == DATA


@pytest.mark.parametrize("unsaved", [None, 0])
def test_already_migrated_with_nothing_unsaved_counts_as_completed_on_server(page, unsaved):
    """A server that does not merge (the seed's contract) and says none of the sent keys is unsaved."""
    out = page.evaluate("""async (unsaved) => {
        const body = { error: 'done', code: 'ALREADY_MIGRATED', migration_date: '2025-12-01T00:00:00.000Z' };
        if (unsaved !== null) body.unsaved_keys = unsaved;
        const h = await harness([{ status: 409, body }]);
        return { result: await h.client.executeMigration(), events: h.events };
    }""", unsaved)
    assert out["result"] == {"success": True, "alreadyMigrated": True, "migration_date": "2025-12-01T00:00:00.000Z"}
    assert out["events"][-1] == "completed"
    assert without_browser_id(storage_snapshot(page)) == {**DATA, "migration_completed": "true",
                                                          "migration_date": "2025-12-01T00:00:00.000Z"}


def test_cleanup_removes_only_keys_proven_equal_in_the_export(page):
    page.evaluate("""() => {
        localStorage.clear();
        const set = (k, v) => localStorage.setItem(k, v);
        set('ai_agents_contoso', '[{"id":"a1","n":1}]');   // migrated, exported re-serialised: removed
        set('theme', 'dark');                              // migrated, same string: removed
        set('chat_session_s1', '[{"id":"m1"}]');           // migrated but changed here after sending: kept
        set('chat_session_s2', '[{"id":"m2"}]');           // migrated but the export differs: kept
        set('chat_session_s3', '[1]');                     // migrated but missing from the export: kept
        set('user_llm_configs_contoso', 'not json');       // quarantined: kept
        set('ai_agents_fabrikam', '[]');                   // ignored: kept
        set('auth_token', 't');                            // never sent: kept
    }""")
    out = page.evaluate("""async () => {
        const h = await harness([
          ok({ quarantined: [{ key: 'user_llm_configs_contoso', reason: 'invalid_json' }],
               ignored: [{ key: 'ai_agents_fabrikam', reason: 'other_tenant' }] }),
          { status: 200, body: { tenant_id: 'contoso', migration_id: 'm1', rollback_reason: 'USER_EXPORT',
            created_at: 'x', rollback_data: { ai_agents_contoso: '[{"n":1,"id":"a1"}]', theme: 'dark',
              chat_session_s1: '[{"id":"m1"}]', chat_session_s2: '[{"id":"other"}]',
              user_llm_configs_contoso: 'not json' } } }]);
        await h.client.executeMigration();
        localStorage.setItem('chat_session_s1', '[{"id":"m1"},{"id":"new"}]');
        return { removed: await h.client.cleanup(), calls: h.calls.map((c) => c.method + ' ' + c.url) };
    }""")
    assert sorted(out["removed"]) == ["ai_agents_contoso", "theme"]
    assert out["calls"][-1] == "GET https://api.example.test/api/migration/export"
    left = without_browser_id(storage_snapshot(page))
    assert set(left) == {"chat_session_s1", "chat_session_s2", "chat_session_s3", "user_llm_configs_contoso",
                         "ai_agents_fabrikam", "auth_token", "migration_completed", "migration_date"}


def test_cleanup_without_a_migration_result_removes_nothing(page):
    out = page.evaluate("async () => errorOf((await harness([])).client.cleanup())")
    assert out["code"] == "NO_MIGRATION_RESULT"
    assert without_browser_id(storage_snapshot(page)) == DATA


def test_handle_rollback_is_the_seeds_and_safe_against_prototype_keys(page):
    out = page.evaluate("""async () => {
        const h = await harness([]);
        localStorage.clear();
        const pkg = JSON.parse('{"tenant_id":"contoso","rollback_reason":"EMERGENCY_ROLLBACK","created_at":"x",' +
          '"rollback_data":{"__proto__":"{\\\\"polluted\\\\":true}","constructor":"c","prototype":"p",' +
          '"hasOwnProperty":"h","theme":"dark","bad":5}}');
        const first = await h.client.handleRollback(pkg);
        const reloadsBefore = h.reloads();
        await h.client.handleRollback({ rollback_data: {} }, { reload: true });
        return { restored: first.restored, reloadsBefore, reloadsAfter: h.reloads(),
                 polluted: ({}).polluted === true || Object.prototype.polluted !== undefined,
                 events: h.events };
    }""")
    assert sorted(out["restored"]) == ["__proto__", "constructor", "hasOwnProperty", "prototype", "theme"]
    assert out["polluted"] is False
    assert (out["reloadsBefore"], out["reloadsAfter"]) == (0, 1)  # reloads only when asked
    store = storage_snapshot(page)
    assert store == {"__proto__": '{"polluted":true}', "constructor": "c", "prototype": "p", "hasOwnProperty": "h",
                     "theme": "dark", "use_localstorage_fallback": "true", "rollback_active": "true"}


def test_collect_uses_a_null_prototype_object(page):
    out = page.evaluate("""async () => {
        localStorage.setItem('x_settings___proto__', 's');
        const h = await harness([]);
        const data = h.client.collectLocalStorageData();
        return { proto: Object.getPrototypeOf(data) === null, keys: Object.keys(data).sort(),
                 json: JSON.parse(JSON.stringify(data)) };
    }""")
    assert out["proto"] is True
    assert out["keys"] == ["ai_agents_contoso", "chat_session_s1", "theme", "x_settings___proto__"]
    assert "auth_token" not in out["json"]


def test_lease_fallback_serialises_and_releases(page):
    out = page.evaluate("""async () => {
        const h = await harness([], { locks: null, realSleep: true });
        const order = [];
        const run = (name, ms) => h.client.withMigrationLock(async () => {
            order.push(name + ':start');
            await new Promise((r) => setTimeout(r, ms));
            order.push(name + ':end');
        });
        await Promise.all([run('a', 50), run('b', 10)]);
        return { order, lease: localStorage.getItem('migration_lock'), events: h.events };
    }""")
    assert out["order"] in (["a:start", "a:end", "b:start", "b:end"], ["b:start", "b:end", "a:start", "a:end"])
    assert out["lease"] is None
    assert out["events"] == ["waiting"]


def test_retry_after_beyond_the_budget_is_surfaced_not_slept(page):
    out = page.evaluate("""async () => {
        const h = await harness([{ status: 503, headers: { 'Retry-After': '3600' },
                                   body: { error: 'x', code: 'DEPENDENCY_UNAVAILABLE' } }], { retry: { attempts: 5 } });
        const error = await h.client.executeMigration().catch((e) => ({ code: e.code, after: e.retryAfterMs }));
        return { error, delays: h.delays, calls: h.calls.length };
    }""")
    assert out == {"error": {"code": "DEPENDENCY_UNAVAILABLE", "after": 3_600_000}, "delays": [], "calls": 1}
    assert without_browser_id(storage_snapshot(page)) == DATA
