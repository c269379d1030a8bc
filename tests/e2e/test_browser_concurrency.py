"""Two tabs of one browser (one localStorage) migrating at once: exactly one migration, no duplicates; the other
tab's request (every migrate is a merge) adds nothing."""
from __future__ import annotations

import pytest

from ..helpers import json_equal_or_same, load_fixture
from .browser_support import screenshot, seed_storage, storage_snapshot, wait_state

pytestmark = pytest.mark.e2e

CLIENT = "/migration-client.js"


NOTHING_ADDED = {"added": 0, "updated": 0, "conflicts": 0}


def assert_one_clean_migration(api, data: dict[str, str], merges: int = 0) -> None:
    """One migration, plus `merges` merges of the same data by the same browser that changed nothing."""
    codes = api.migrate_codes()
    assert codes.count(200) == 1 + merges, codes
    st = api.status()
    assert st["migration_status"] == "completed" and len(st["browsers"]) == 1
    docs, record = api.database()
    assert record["attempt"] == 1 + merges  # one lease per request that was let through
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)) == record["documentCount"]
    assert not [d for d in docs if d.get("type") == "conflict"]
    code, package = api.export()
    assert code == 200
    exported = package["rollback_data"]
    sent = {k: v for k, v in data.items() if k != "auth_token"}
    assert set(exported) == set(sent)
    assert [k for k, v in sent.items() if not json_equal_or_same(v, exported[k])] == []


def test_two_tabs_one_waits_on_the_lock(local_api, new_page, static_origin):
    api = local_api.start()
    data = load_fixture("typical")
    holder, _ = new_page()
    holder.goto(f"{static_origin}/demo/index.html")
    seed_storage(holder, data)
    # A third tab holds the migration lock, so both tabs provably contend for it.
    holder.evaluate("""() => new Promise((held) => {
        navigator.locks.request('localstorage-migration', () => new Promise((release) => {
            window.releaseLock = release;
            held();
        }));
    })""")

    tab_a, console_a = new_page()
    tab_b, console_b = new_page()
    for tab in (tab_a, tab_b):
        tab.goto(api.demo_url())
        wait_state(tab, "ready")
    tab_a.click("#btn-migrate")
    tab_b.click("#btn-migrate")
    wait_state(tab_a, "in-progress", phase="waiting")
    wait_state(tab_b, "in-progress", phase="waiting")
    screenshot(tab_a, "demo-06-waiting-for-other-tab")
    assert api.migrate_codes() == []  # nobody sent anything while the lock was held

    holder.evaluate("() => window.releaseLock()")
    wait_state(tab_a, "success")
    wait_state(tab_b, "success")
    outcomes = sorted(t.get_attribute("#migration-modal", "data-outcome") for t in (tab_a, tab_b))
    assert outcomes == ["merged", "migrated"]
    waiter = tab_a if tab_a.get_attribute("#migration-modal", "data-outcome") == "merged" else tab_b
    screenshot(waiter, "demo-07-merged-nothing-new-after-other-tab")

    # The second tab only asked after the first had finished: its merge found everything stored.
    assert api.migrate_codes() == [200, 200]
    merge = waiter.evaluate("() => window.migrationDemo.lastResult.merge")
    assert {k: merge[k] for k in NOTHING_ADDED} == NOTHING_ADDED and merge["unchanged"] > 0
    assert_one_clean_migration(api, data, merges=1)
    store = storage_snapshot(tab_a)
    assert store["migration_completed"] == "true"
    assert store == storage_snapshot(tab_b)
    # Each tab saw the other's lock: the events say so.
    for tab in (tab_a, tab_b):
        events = tab.evaluate("() => window.migrationDemo.events")
        assert events[0] == "waiting" and events[-1] == "completed", events
    for console in (console_a, console_b):  # the 409 is expected; nothing else may fail
        assert [e for e in console.errors if "409" not in e] == []


@pytest.mark.parametrize("locks", ["none", "lease"])
def test_two_tabs_without_web_locks_server_still_allows_one(local_api, new_page, static_origin, locks):
    """Without the Web Locks API the client falls back to a localStorage lease; without any client lock at
    all the server's own lease still lets exactly one migration through."""
    api = local_api.start()
    data = load_fixture("typical")
    tabs = []
    for _ in range(2):
        tab, _console = new_page()
        tab.goto(f"{static_origin}/demo/index.html")
        tabs.append(tab)
    seed_storage(tabs[0], data)
    lock_option = ("{request: (name, opts, cb) => (cb || opts)({name})}" if locks == "none" else "null")
    for tab in tabs:
        tab.evaluate(f"""async ([base, token]) => {{
            const {{ createMigrationClient }} = await import('{CLIENT}');
            window.client = createMigrationClient({{ baseUrl: base, getToken: () => token, locks: {lock_option},
                                                     retry: {{ attempts: 1 }} }});
        }}""", [api.base, api.token()])
    # Start both migrations before awaiting either.
    for tab in tabs:
        tab.evaluate("""() => {
            window.outcome = window.client.executeMigration().then(
                (r) => ({ ok: true, alreadyMigrated: r.alreadyMigrated, merge: r.merge }),
                (e) => ({ ok: false, code: e.code, status: e.status, retryable: e.retryable }));
        }""")
    outcomes = [tab.evaluate("() => window.outcome") for tab in tabs]
    winners = [o for o in outcomes if o == {"ok": True, "alreadyMigrated": False, "merge": None}]
    assert len(winners) == 1, outcomes
    loser = next(o for o in outcomes if o is not winners[0])
    # The loser retried its 409 MIGRATION_IN_PROGRESS and merged nothing new, or ran out of attempts.
    merged = loser.get("ok") is True and {k: (loser["merge"] or {}).get(k) for k in NOTHING_ADDED} == NOTHING_ADDED
    assert merged or loser == {"ok": False, "code": "MIGRATION_IN_PROGRESS", "status": 409, "retryable": True}, outcomes
    assert_one_clean_migration(api, data, merges=1 if merged else 0)
    store = storage_snapshot(tabs[0])
    assert store["migration_completed"] == "true"
    assert "migration_lock" not in store  # the lease is released
