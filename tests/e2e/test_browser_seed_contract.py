"""The seed's own frontend code (seed §3 MigrationOrchestrator, §6 RollbackHandler), transcribed from
TypeScript to JavaScript with only the types removed, runs unchanged against this API in a real browser.

Its one undefined dependency, `apiClient`, is a tiny axios-like client (`get`/`post` resolving `{data}`, throwing
on non-2xx with `error.response`); `RollbackHandler.clearApiCache` is undefined in the seed and stubbed here.
"""
from __future__ import annotations

import json

import pytest

from ..helpers import json_equal_or_same, load_fixture
from .browser_support import seed_storage, storage_snapshot

pytestmark = pytest.mark.e2e

AXIOS_LIKE = """
window.makeApiClient = (baseURL, token) => {
  async function request(method, url, body) {
    const init = { method, headers: { Authorization: `Bearer ${token}` } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(baseURL + url, init);
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) {
      const error = new Error(`Request failed with status code ${res.status}`);
      error.response = { status: res.status, data };
      throw error;
    }
    return { data, status: res.status };
  }
  return { get: (url) => request('GET', url), post: (url, body) => request('POST', url, body) };
};
"""

# Seed §3 and §6, verbatim but for the TypeScript annotations (and `private`, `: Promise<...>`).
SEED_JS = """
var apiClient = window.makeApiClient(window.SEED_BASE_URL, window.SEED_TOKEN);

class MigrationOrchestrator {
  /**
   * Check if user needs migration on app startup
   */
  static async checkMigrationNeeded() {
    // Check if localStorage has data but user hasn't migrated yet
    const hasLocalStorageData = this.hasRelevantLocalStorageData();

    if (!hasLocalStorageData) {
      return false;
    }

    // Check backend migration status
    try {
      const response = await apiClient.get('/migration/status');
      return response.data.migration_status !== 'completed';
    } catch (error) {
      console.warn('[Migration] Could not check migration status:', error);
      return true; // Assume migration needed if we can't check
    }
  }

  /**
   * Execute migration with user consent
   */
  static async executeMigration(includeBackup = true) {
    try {
      // Collect all localStorage data
      const localStorageData = this.collectLocalStorageData();

      // Send to backend for migration
      const response = await apiClient.post('/migration/migrate-localstorage', {
        localStorage_data: localStorageData,
        backup_requested: includeBackup
      });

      if (response.data.success) {
        // Mark migration as completed locally
        localStorage.setItem('migration_completed', 'true');
        localStorage.setItem('migration_date', new Date().toISOString());

        console.log('[Migration] Successfully migrated localStorage data to database');
      }

      return response.data.data;
    } catch (error) {
      console.error('[Migration] Migration failed:', error);
      throw error;
    }
  }

  /**
   * Collect all relevant localStorage data
   */
  static collectLocalStorageData() {
    const relevantKeys = [
      // Agent configurations
      ...Object.keys(localStorage).filter(key => key.startsWith('ai_agents_')),

      // MCP server configurations
      ...Object.keys(localStorage).filter(key => key.startsWith('tenant_mcp_servers_')),

      // LLM configurations
      ...Object.keys(localStorage).filter(key => key.startsWith('user_llm_configs_')),

      // Chat sessions
      ...Object.keys(localStorage).filter(key => key.startsWith('chat_session_')),

      // User preferences
      'theme',
      ...Object.keys(localStorage).filter(key =>
        key.includes('_preferences_') ||
        key.includes('_settings_') ||
        key === 'current_tenant_id'
      )
    ];

    const data = {};
    relevantKeys.forEach(key => {
      const value = localStorage.getItem(key);
      if (value !== null) {
        data[key] = value;
      }
    });

    return data;
  }

  /**
   * Check if localStorage contains data that needs migration
   */
  static hasRelevantLocalStorageData() {
    const checkKeys = [
      'ai_agents_',
      'user_llm_configs_',
      'tenant_mcp_servers_',
      'chat_session_',
      'theme'
    ];

    return checkKeys.some(prefix =>
      Object.keys(localStorage).some(key => key.startsWith(prefix))
    );
  }
}

class RollbackHandler {
  static async clearApiCache() {}  // not defined in the seed

  /**
   * Handle rollback notification from backend
   */
  static async handleRollback(rollbackPackage) {
    try {
      console.warn('[ROLLBACK] Processing rollback package');

      // 1. Clear current API-based state
      await this.clearApiCache();

      // 2. Restore localStorage data
      Object.entries(rollbackPackage.rollback_data).forEach(([key, value]) => {
        localStorage.setItem(key, value);
      });

      // 3. Switch back to localStorage mode
      localStorage.setItem('use_localstorage_fallback', 'true');
      localStorage.setItem('rollback_active', 'true');

      // 4. Reload application
      window.location.reload();
    } catch (error) {
      console.error('[ROLLBACK] Rollback processing failed:', error);
      throw error;
    }
  }
}

window.MigrationOrchestrator = MigrationOrchestrator;
window.RollbackHandler = RollbackHandler;
window.apiClient = apiClient;
"""


def inject_seed(page, api) -> None:
    page.evaluate("([base, token]) => { window.SEED_BASE_URL = base; window.SEED_TOKEN = token; }",
                  [api.base, api.token()])
    page.add_script_tag(content=AXIOS_LIKE)
    page.add_script_tag(content=SEED_JS)


def test_seed_orchestrator_and_rollback_handler_work_unchanged(local_api, new_page, static_origin):
    api = local_api.start()
    data = {**load_fixture("typical"), "tenant_mcp_servers_fabrikam": json.dumps([{"id": "m1"}])}
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")  # the client's origin; the page stays idle
    seed_storage(page, data)
    inject_seed(page, api)

    assert page.evaluate("() => MigrationOrchestrator.checkMigrationNeeded()") is True
    result = page.evaluate("() => MigrationOrchestrator.executeMigration(true)")
    # The seed's MigrationResult fields, as its modal reads them.
    assert result["success"] is True and result["migratedRecords"] > 0 and result["errors"] == []
    assert set(result["summary"]) >= {"agents", "llm_configs", "mcp_servers", "chat_sessions", "preferences"}
    assert result["summary"]["mcp_servers"] == len(json.loads(data["tenant_mcp_servers_contoso"]))
    store = storage_snapshot(page)
    assert store["migration_completed"] == "true"
    assert store["migration_date"].endswith("Z")
    assert page.evaluate("() => MigrationOrchestrator.checkMigrationNeeded()") is False

    sent = {k: v for k, v in data.items() if k != "auth_token"}  # the seed never selected auth_token
    code, package = api.export()
    assert code == 200
    assert set(package["rollback_data"]) == set(sent) - {"tenant_mcp_servers_fabrikam"}
    assert [k for k, v in package["rollback_data"].items() if not json_equal_or_same(sent[k], v)] == []

    # A second attempt: the seed's 409 contract (error.response carries code and migration_date).
    again = page.evaluate("""() => MigrationOrchestrator.executeMigration(true).then(
        () => null, (e) => ({ status: e.response.status, data: e.response.data }))""")
    assert again["status"] == 409 and again["data"]["code"] == "ALREADY_MIGRATED"
    assert again["data"]["migration_date"] == api.status()["completed_at"]

    # Emergency rollback through the seed's handler: fetch the package, apply it, the page reloads itself.
    assert api.rollback("contoso")[0] == 200
    page.evaluate("() => localStorage.clear()")
    with page.expect_navigation():
        page.evaluate("""() => { apiClient.get('/migration/export')
            .then((r) => RollbackHandler.handleRollback(r.data)); }""")
    restored = storage_snapshot(page)
    code, package = api.export()
    assert package["rollback_reason"] == "EMERGENCY_ROLLBACK"
    assert restored == {**package["rollback_data"], "use_localstorage_fallback": "true", "rollback_active": "true"}
    # Console output is the seed's own logging: no error but the seed's deliberate console.error on the 409.
    assert [e for e in console.errors if "409" not in e and "Migration failed" not in e] == []


def test_our_client_sends_what_the_seed_sent_and_every_other_key(local_api, new_page, static_origin):
    """A superset of the seed's collectLocalStorageData (minus `auth_token`): keys outside the seed's prefixes
    (`random`, `themes`) are sent too, and the server accounts for each (quarantined, kept raw)."""
    api = local_api.start()
    page, _ = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    data = {**load_fixture("typical"), "migration_completed": "true", "random": "x", "my_settings_": "1",
            "a_preferences_b": "2", "themes": "no", "__proto__": "p", "constructor": "c", "_ga": "GA1.2.3"}
    seed_storage(page, data)
    inject_seed(page, api)
    ours, seeds, excluded = page.evaluate("""async () => {
        const { createMigrationClient } = await import('/migration-client.js');
        const c = createMigrationClient({ baseUrl: 'http://unused.invalid/api', getToken: () => 't' });
        const { data, excluded } = c.collect();
        return [Object.keys(data).sort(), Object.keys(MigrationOrchestrator.collectLocalStorageData()).sort(),
                excluded.map((e) => [e.key, e.reason])];
    }""")
    assert set(seeds) - {"auth_token"} <= set(ours)
    assert set(ours) - set(seeds) == {"random", "themes", "__proto__", "constructor"}
    assert dict(excluded) == {"auth_token": "auth_token", "migration_completed": "client_marker", "_ga": "excluded"}
    code, body, _ = api.call("POST", "/migration/preview", {"localStorage_data": {k: data[k] for k in ours}})
    assert code == 200, body
    assert body["data"]["manifest"]["received"] == len(ours)
    assert {i["key"] for i in body["data"]["quarantined"]} >= {"random", "themes", "__proto__", "constructor"}
