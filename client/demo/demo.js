// The seed's MigrationModal in plain JS, on top of ../migration-client.js: the page's entry (connection, the
// check → ready → migrate flow, the buttons). The views are modal.js, plan-view.js, result-view.js and
// storage-panel.js; the wording is wording.js, the sample data sample-data.js, the page's state state.js.
//
// Query parameters: api (base URL incl. /api), token (bearer), retry (attempts, default 4),
// retryDelay (base delay ms), check=0 (do not check on load). States are published on
// #migration-modal as data-state / data-phase / data-outcome / data-code / data-retryable.

import { createMigrationClient } from "../migration-client.js";
import { $ } from "./dom.js";
import { showIdentity, tenantOf } from "./identity.js";
import { onProgress, setState } from "./modal.js";
import { showReady } from "./plan-view.js";
import { cleanup, showError, showOutcome } from "./result-view.js";
import { sampleData } from "./sample-data.js";
import { demo, params } from "./state.js";
import { renderStorage } from "./storage-panel.js";

// Tests import these from the page's entry.
export { describeAdditions, familyPhrase } from "./wording.js";
export { sampleData } from "./sample-data.js";

window.migrationDemo = demo;

// --- connection -----------------------------------------------------------------------------------------

function connect() {
  const retry = {};
  if (params.get("retry")) retry.attempts = Number(params.get("retry"));
  if (params.get("retryDelay")) retry.baseDelayMs = Number(params.get("retryDelay"));
  demo.client = createMigrationClient({
    baseUrl: demo.config.api,
    getToken: () => demo.config.token,
    retry,
    onProgress: onProgress,
  });
  showIdentity();
  return demo.client;
}

// --- the flow: check → ready → migrate → success | error ---------------------------------------------------

function waitForConsent() {
  return new Promise((resolve) => { demo.pendingConfirm = resolve; });
}

async function check({ ignoreSkipped = false } = {}) {
  if (!demo.client) return;
  setState("checking");
  try {
    const outcome = await demo.client.autoMigrate({
      ignoreSkipped,
      confirm: async ({ preview }) => {
        await showReady(preview);
        return waitForConsent();
      },
    });
    showOutcome(outcome);
  } catch (error) {
    showError(error);
  }
}

async function migrate() {
  demo.pendingConfirm = null;
  try {
    const result = await demo.client.executeMigration({ backup: true });
    showOutcome({ action: result.alreadyMigrated ? "already_migrated" : result.merge ? "merged" : "migrated", result });
  } catch (error) {
    showError(error);
  }
}

// --- wiring ---------------------------------------------------------------------------------------------

$("#btn-migrate").addEventListener("click", () => {
  const consent = demo.pendingConfirm;
  demo.pendingConfirm = null;
  if (consent) consent(true); // autoMigrate goes on with executeMigration
  else migrate();
});
$("#btn-retry").addEventListener("click", () => migrate());
$("#btn-skip").addEventListener("click", () => {
  if (demo.client) demo.client.skip();
  else localStorage.setItem("migration_skipped", "true");
  const consent = demo.pendingConfirm;
  demo.pendingConfirm = null;
  if (consent) consent(false);
  setState("skipped");
});
$("#btn-close").addEventListener("click", () => setState("closed"));
$("#btn-cleanup").addEventListener("click", () => cleanup());
$("#btn-load-sample").addEventListener("click", () => {
  const data = sampleData(tenantOf());
  for (const [k, v] of Object.entries(data)) localStorage.setItem(k, v);
  renderStorage();
});
$("#btn-clear-storage").addEventListener("click", () => {
  localStorage.clear();
  renderStorage();
});
$("#btn-check").addEventListener("click", () => check({ ignoreSkipped: true }));
$("#config-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  demo.config.api = $("#cfg-api").value.trim();
  demo.config.token = $("#cfg-token").value.trim();
  if (!demo.config.api || !demo.config.token) return;
  connect();
  check({ ignoreSkipped: true });
});

$("#cfg-api").value = demo.config.api;
$("#cfg-token").value = demo.config.token;
renderStorage();
if (demo.config.api && demo.config.token) {
  connect();
  if (params.get("check") !== "0") check();
  else setState("idle");
} else {
  setState("idle");
}
document.documentElement.dataset.ready = "true";
