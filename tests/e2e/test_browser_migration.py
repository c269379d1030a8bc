"""The demo page migrates a typical browser through the local host, cross-origin, and cleans up after itself."""
from __future__ import annotations

import json

import pytest

from ..helpers import json_equal_or_same, load_fixture
from .browser_support import screenshot, seed_storage, storage_snapshot, wait_state

pytestmark = pytest.mark.e2e

OTHER_TENANT = {
    "ai_agents_fabrikam": json.dumps([{"id": "agent_f1", "name": "Fabrikam agent", "systemPrompt": "hi"}]),
    "ui_preferences_fabrikam": json.dumps({"fontSize": 12}),
}
# Keys outside the plan's families: sent, quarantined (kept raw) on the server, left in the browser by cleanup.
UNRELATED = {"app_version": "4.2.1", "recent_searches": json.dumps(["cosmos", "vault"])}
ANALYTICS = {"_ga": "GA1.1.123.456"}  # the client's default exclusion list
NEVER_SENT = {"auth_token"} | set(ANALYTICS)
BROWSER_ID = "migration_browser_id"


def browser_data() -> dict[str, str]:
    return {**load_fixture("typical"), **OTHER_TENANT, **UNRELATED, **ANALYTICS}


def test_demo_migrates_typical_browser_and_cleans_up(local_api, new_page, static_origin):
    api = local_api.start()
    data = browser_data()
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")  # no api/token: the page stays idle, makes no calls
    seed_storage(page, data)
    before = storage_snapshot(page)
    assert before == data

    page.goto(api.demo_url())
    wait_state(page, "ready")
    # The plan comes from POST /preview across origins (CORS), not from the local estimate.
    assert page.get_attribute("#plan-source", "data-source") == "server"
    agents = len(json.loads(data["ai_agents_contoso"]))
    assert page.get_attribute('#plan-list li[data-family="agents"]', "data-count") == str(agents)
    assert page.get_attribute('#plan-list li[data-family="mcp_servers"]', "data-count") == \
        str(len(json.loads(data["tenant_mcp_servers_contoso"])))
    stays = set(page.eval_on_selector_all("#plan-stays li", "els => els.map(e => e.dataset.key)"))
    assert stays == set(OTHER_TENANT) | set(UNRELATED)
    looked = storage_snapshot(page)
    assert {k: v for k, v in looked.items() if k != BROWSER_ID} == before  # looking changes nothing but the id
    screenshot(page, "demo-01-ready")

    page.click("#btn-migrate")
    wait_state(page, "success", outcome="migrated")
    page.click("#result-details summary")
    screenshot(page, "demo-03-success")

    result = page.evaluate("() => window.migrationDemo.lastResult")
    sent = set(data) - NEVER_SENT
    ignored = {i["key"]: i["reason"] for i in result["ignored"]}
    quarantined = {i["key"] for i in result["quarantined"]}
    assert ignored == {k: "other_tenant" for k in OTHER_TENANT}
    assert quarantined == set(UNRELATED)
    assert result["manifest"]["received"] == len(sent)
    assert result["manifest"]["migrated"] == len(sent) - len(ignored) - len(quarantined)
    shown = set(page.eval_on_selector_all("#ignored-list li[data-key]", "els => els.map(e => e.dataset.key)"))
    assert shown == set(OTHER_TENANT)
    assert page.get_attribute('#result-counts tr[data-family="agents"] td.num', "class") == "num"
    assert page.inner_text('#result-counts tr[data-family="agents"] td.num') == str(agents)

    # The database holds the data: the export rebuilds every sent, not-ignored key equal to the original.
    st = api.status()
    assert st["migration_status"] == "completed" and st["migration_id"] == result["migration_id"]
    code, package = api.export()
    assert code == 200
    exported = package["rollback_data"]
    assert set(exported) == sent - set(ignored)
    assert [k for k in exported if not json_equal_or_same(data[k], exported[k])] == []
    assert "auth_token" not in exported

    after = storage_snapshot(page)
    assert after["migration_completed"] == "true"
    assert after["migration_date"] == st["completed_at"]
    assert {k: v for k, v in after.items() if k not in ("migration_completed", "migration_date", BROWSER_ID)} == before

    # Cleanup removes exactly the migrated keys, each checked against the export first.
    page.click("#btn-cleanup")
    page.wait_for_selector("#cleanup-result[data-removed]", state="attached")
    assert page.get_attribute("#cleanup-result", "data-removed") != "error"
    removed = page.evaluate("() => window.migrationDemo.lastCleanup")
    assert len(removed) == len(set(removed))
    assert set(removed) == sent - set(ignored) - quarantined
    left = storage_snapshot(page)
    kept = set(data) - set(removed)
    assert kept == NEVER_SENT | set(OTHER_TENANT) | quarantined
    assert {k: left[k] for k in kept} == {k: data[k] for k in kept}  # untouched
    assert set(left) == kept | {"migration_completed", "migration_date", BROWSER_ID}
    screenshot(page, "demo-03b-success-after-cleanup")

    assert console.errors == [], console.errors


def test_demo_reopened_after_migration_needs_nothing(local_api, new_page, static_origin):
    """A completed migration is not offered again: the modal stays closed (the seed's checkMigrationNeeded)."""
    api = local_api.start()
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    seed_storage(page, browser_data())
    page.goto(api.demo_url())
    wait_state(page, "ready")
    page.click("#btn-migrate")
    wait_state(page, "success", outcome="migrated")
    page.reload()
    wait_state(page, "not-needed")
    assert page.is_hidden("#migration-modal")
    assert page.evaluate("() => window.migrationDemo.client.checkMigrationNeeded()") is False
    assert api.migrate_codes() == [200]
    assert console.errors == [], console.errors


def test_sample_data_button_fills_a_typical_browser_the_server_accepts(local_api, new_page, static_origin):
    api = local_api.start()
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    page.evaluate("() => localStorage.clear()")
    page.goto(api.demo_url())
    wait_state(page, "not-needed")  # nothing in this browser: no modal
    page.click("#btn-load-sample")
    sample = storage_snapshot(page)
    assert {"ai_agents_contoso", "user_llm_configs_contoso", "tenant_mcp_servers_contoso", "theme",
            "current_tenant_id", "auth_token", "chat_session_contoso_global"} <= set(sample)
    assert all("apiKey" in c for c in json.loads(sample["user_llm_configs_contoso"]))
    assert sum(k.startswith("chat_session_sess_") for k in sample) >= 3
    assert any(k.endswith("_preferences_contoso") for k in sample)
    assert page.get_attribute("#storage-summary", "data-keys") == str(len(sample))
    screenshot(page, "demo-00-page-with-sample-data")

    page.click("#btn-check")
    wait_state(page, "ready")
    page.click("#btn-migrate")
    wait_state(page, "success", outcome="migrated")
    result = page.evaluate("() => window.migrationDemo.lastResult")
    assert result["manifest"] == {"received": len(sample) - 1, "migrated": len(sample) - 1,
                                  "quarantined": 0, "ignored": 0}
    assert result["summary"]["agents"] == len(json.loads(sample["ai_agents_contoso"]))
    assert result["summary"]["llm_configs"] == 3 and result["summary"]["mcp_servers"] == 4
    code, package = api.export()
    assert [k for k, v in package["rollback_data"].items() if not json_equal_or_same(sample[k], v)] == []
    assert console.errors == [], console.errors


def test_connection_inputs_work_without_query_parameters(local_api, new_page, static_origin):
    api = local_api.start()
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    seed_storage(page, browser_data())
    page.reload()
    wait_state(page, "idle")
    page.fill("#cfg-api", api.base)
    page.fill("#cfg-token", api.token())
    page.click("#btn-connect")
    wait_state(page, "ready")
    assert page.get_attribute("#whoami", "data-tenant") == "contoso"
    assert console.errors == [], console.errors
