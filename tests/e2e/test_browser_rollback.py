"""Emergency rollback: ops flag the tenant, the page restores localStorage from the export on its next load."""
from __future__ import annotations

import json

import pytest

from ..helpers import json_equal_or_same, load_fixture
from .browser_support import screenshot, seed_storage, storage_snapshot, wait_state

pytestmark = pytest.mark.e2e

SEED_FLAGS = {"use_localstorage_fallback": "true", "rollback_active": "true"}


def test_rollback_restores_local_storage_on_next_load(local_api, new_page, static_origin):
    api = local_api.start()
    data = {**load_fixture("typical"), "ai_agents_fabrikam": json.dumps([{"id": "f1"}])}
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    seed_storage(page, data)
    page.goto(api.demo_url())
    wait_state(page, "ready")
    page.click("#btn-migrate")
    wait_state(page, "success", outcome="migrated")

    code, body = api.rollback("contoso", active=True)
    assert code == 200, body
    assert body["rollback_active"] is True
    st = api.status()
    assert st["rollback_active"] is True
    code, refused, _ = api.call("POST", "/migration/migrate-localstorage", {"localStorage_data": {"theme": "x"}})
    assert (code, refused["code"]) == (409, "ROLLBACK_ACTIVE")

    page.evaluate("() => localStorage.clear()")  # e.g. a new device, or data cleaned up after migrating
    page.reload()
    wait_state(page, "rollback", outcome="restored")
    screenshot(page, "demo-05-rollback")

    code, package = api.export()
    assert code == 200 and package["rollback_reason"] == "EMERGENCY_ROLLBACK"
    restored = storage_snapshot(page)
    # Exactly the seed's RollbackHandler: every rollback_data entry, then the two flags.
    assert restored == {**package["rollback_data"], **SEED_FLAGS}
    assert page.get_attribute("#rollback-text", "data-restored") == str(len(package["rollback_data"]))
    originals = {k: v for k, v in data.items() if k not in ("auth_token", "ai_agents_fabrikam")}
    assert set(package["rollback_data"]) == set(originals)
    assert [k for k, v in originals.items() if not json_equal_or_same(v, restored[k])] == []
    assert console.errors == [], console.errors

    # The package is applied once: edits made while the rollback lasts are not overwritten on the next load.
    page.evaluate("() => localStorage.setItem('theme', 'light')")
    page.reload()
    wait_state(page, "rollback-active")
    assert storage_snapshot(page)["theme"] == "light"

    # Ops lift the rollback: the next load offers the migration again (a merge), and it clears the fallback flags.
    # localStorage was cleared above, browser id included, so this is another browser to the server: its edit
    # of `theme` is a conflict, kept as a copy, and the stored value stays live (no modification times).
    code, body = api.rollback("contoso", active=False)
    assert code == 200 and body["rollback_active"] is False
    page.reload()
    wait_state(page, "ready")
    page.click("#btn-migrate")
    wait_state(page, "success", outcome="merged")
    merge = page.evaluate("() => window.migrationDemo.lastResult.merge")
    assert (merge["updated"], merge["conflicts"]) == (0, 1) and merge["by_family"]["preferences"]["conflicts"] == 1
    after = storage_snapshot(page)
    assert after["migration_completed"] == "true"
    assert not set(SEED_FLAGS) & set(after)
    code, package = api.export()
    assert package["rollback_reason"] == "USER_EXPORT" and package["rollback_data"]["theme"] == data["theme"]
    browser = after["migration_browser_id"]
    assert [(c["value"], c["browser_id"]) for c in package["conflicts"] if c["key"] == "theme"] == [("light", browser)]


def test_auto_migrate_applies_rollback_without_the_page(local_api, new_page, static_origin):
    """`autoMigrate()` alone (no modal): status says rollback_active → export → handleRollback."""
    api = local_api.start()
    data = load_fixture("typical")
    code, _, _ = api.call("POST", "/migration/migrate-localstorage", {"localStorage_data": data})
    assert code == 200
    assert api.rollback("contoso")[0] == 200
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    page.evaluate("() => localStorage.setItem('unrelated', 'stays')")
    outcome = page.evaluate("""async ([base, token]) => {
        const { createMigrationClient } = await import('/migration-client.js');
        const phases = [];
        const client = createMigrationClient({ baseUrl: base, getToken: async () => token,
                                               onProgress: (e) => phases.push(e.phase) });
        const out = await client.autoMigrate();
        return { action: out.action, restored: out.restored.length, reason: out.rollback_reason, phases };
    }""", [api.base, api.token()])
    code, package = api.export()
    assert outcome == {"action": "rollback", "restored": len(package["rollback_data"]),
                       "reason": "EMERGENCY_ROLLBACK", "phases": ["rolled_back"]}
    assert storage_snapshot(page) == {**package["rollback_data"], **SEED_FLAGS, "unrelated": "stays"}
    assert console.errors == [], console.errors
