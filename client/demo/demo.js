// The seed's MigrationModal in plain JS, on top of ../migration-client.js.
//
// Query parameters: api (base URL incl. /api), token (bearer), retry (attempts, default 4),
// retryDelay (base delay ms), check=0 (do not check on load). States are published on
// #migration-modal as data-state / data-phase / data-outcome / data-code / data-retryable.

import { createMigrationClient, MigrationError, summarizeLocal, isMigratableKey, storageKeys, MARKERS }
  from "../migration-client.js";

const $ = (sel) => document.querySelector(sel);
const modal = $("#migration-modal");
const params = new URLSearchParams(location.search);

const demo = {
  client: null,
  config: { api: params.get("api") || "", token: params.get("token") || "" },
  events: [],
  lastResult: null,
  lastCleanup: null,
  lastError: null,
  pendingConfirm: null,
};
window.migrationDemo = demo;

// --- identity from the token (display and sample data only; the server decides) -------------------------

function claims(token) {
  try {
    const part = token.split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

function tenantOf() {
  return claims(demo.config.token).tid || "contoso";
}

function showIdentity() {
  const el = $("#whoami");
  if (!demo.config.token) {
    el.textContent = "not connected";
    return;
  }
  const c = claims(demo.config.token);
  el.dataset.tenant = c.tid || "";
  el.dataset.user = c.oid || c.sub || "";
  el.textContent = `tenant ${c.tid || "?"} · user ${c.oid || c.sub || "?"}`;
}

// --- the modal's states ---------------------------------------------------------------------------------

const HIDDEN_STATES = new Set(["idle", "not-needed", "skipped", "closed"]);
const VIEW_OF = { checking: "checking", ready: "ready", "in-progress": "in-progress", success: "success",
  error: "error", rollback: "rollback", "rollback-active": "rollback", disabled: "message", message: "message" };
const BUTTONS_OF = { ready: ["btn-migrate", "btn-skip"], "in-progress": ["btn-migrate"], checking: [],
  success: ["btn-cleanup", "btn-close"], error: ["btn-retry", "btn-skip"], rollback: ["btn-close"],
  "rollback-active": ["btn-close"], disabled: ["btn-close"], message: ["btn-close"] };
const TITLES = { rollback: "Emergency Rollback", "rollback-active": "Emergency Rollback",
  success: "Data Migration", disabled: "Data Migration" };

function setState(state, attrs = {}) {
  modal.dataset.state = state;
  for (const name of ["phase", "outcome", "code", "retryable"]) {
    modal.dataset[name] = attrs[name] !== undefined ? String(attrs[name]) : "";
  }
  modal.hidden = HIDDEN_STATES.has(state);
  const view = VIEW_OF[state];
  for (const v of modal.querySelectorAll(".view")) v.hidden = v.dataset.view !== view;
  const visible = new Set(BUTTONS_OF[state] || []);
  for (const b of modal.querySelectorAll(".actions button")) b.hidden = !visible.has(b.id);
  const busy = state === "in-progress";
  const migrate = $("#btn-migrate");
  migrate.disabled = busy;
  migrate.innerHTML = busy ? '<span class="spinner light" aria-hidden="true"></span> Migrating…' : "Migrate Now (Recommended)";
  $("#modal-title").textContent = TITLES[state] || "Data Migration Required";
  $("#modal-icon").className = "badge-icon " + ({ success: "ok", error: "bad", rollback: "warn", "rollback-active": "warn" }[state] || "");
  $("#modal-icon").textContent = { success: "✓", error: "✕", rollback: "↩", "rollback-active": "↩" }[state] || "!";
  $("#modal-lead").hidden = !["ready", "checking", "in-progress", "error"].includes(state);
  modal.querySelector(".fine").hidden = !["ready", "checking", "in-progress"].includes(state);
  renderStorage();
}

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

function onProgress(event) {
  demo.events.push(event.phase);
  const text = $("#progress-text"), detail = $("#progress-detail");
  switch (event.phase) {
    case "waiting":
      setState("in-progress", { phase: "waiting" });
      text.textContent = "Another tab is migrating this browser's data…";
      detail.textContent = "This tab waits for it to finish.";
      break;
    case "collecting":
      setState("in-progress", { phase: "collecting" });
      text.textContent = "Collecting your data…";
      detail.textContent = "";
      break;
    case "sending":
      setState("in-progress", { phase: "sending" });
      text.textContent = `Migrating ${event.keys} item${event.keys === 1 ? "" : "s"}…`;
      break;
    case "retrying":
      setState("in-progress", { phase: "retrying" });
      text.textContent = `The server is busy; retrying (attempt ${event.attempt} of ${event.attempts})…`;
      detail.textContent = `Next attempt in ${Math.ceil(event.delayMs / 1000)} s. (${event.error.code})`;
      break;
    default:
      break;
  }
  const order = ["collecting", "sending", "completed"];
  const current = { waiting: -1, collecting: 0, sending: 1, retrying: 1, completed: 3 }[event.phase];
  if (current !== undefined) {
    for (const li of document.querySelectorAll("#progress-steps li")) {
      const i = order.indexOf(li.dataset.step);
      li.className = i < current ? "done" : i === current ? "active" : "";
    }
  }
}

// --- the flow: check → ready → migrate → success | error ---------------------------------------------------

const FAMILY_LABELS = [
  ["agents", "AI agent configuration", "AI agent configurations"],
  ["llm_configs", "LLM provider configuration (keys go to secure storage)", "LLM provider configurations (keys go to secure storage)"],
  ["mcp_servers", "MCP server configuration", "MCP server configurations"],
  ["chat_sessions", "chat session", "chat sessions"],
  ["chat_messages", "chat message", "chat messages"],
  ["preferences", "preference and theme setting", "preference and theme settings"],
];

function listItems(ul, items) {
  ul.replaceChildren(...items.map(([text, attrs]) => {
    const li = document.createElement("li");
    li.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) li.dataset[k] = v;
    return li;
  }));
}

function renderPlan(summary, source, ignored = [], quarantined = []) {
  listItems($("#plan-list"), FAMILY_LABELS.map(([key, one, many]) =>
    [`${summary[key] ?? 0} ${(summary[key] ?? 0) === 1 ? one : many}`, { family: key, count: String(summary[key] ?? 0) }]));
  $("#plan-source").textContent = source;
  const stays = [...ignored.map((i) => [`${i.key} — ${i.reason}`, { key: i.key }]),
    ...quarantined.map((i) => [`${i.key} — kept raw (${i.reason})`, { key: i.key }])];
  $("#plan-stays-box").hidden = stays.length === 0;
  listItems($("#plan-stays"), stays);
}

async function showReady() {
  setState("checking");
  try {
    const plan = await demo.client.preview();
    demo.lastPlan = plan;
    renderPlan(plan.summary, `Planned by the server: ${plan.manifest.migrated} of ${plan.manifest.received} keys, ` +
      `${plan.documents} records, ${plan.secrets} secrets to Key Vault.`, plan.ignored, plan.quarantined);
    $("#plan-source").dataset.source = "server";
  } catch (error) {
    renderPlan(summarizeLocal(demo.client.collectLocalStorageData(), tenantOf()),
      "Estimated in this browser (the server's plan is not available right now).");
    $("#plan-source").dataset.source = "local";
  }
  setState("ready");
}

function waitForConsent() {
  return new Promise((resolve) => { demo.pendingConfirm = resolve; });
}

async function check({ ignoreSkipped = false } = {}) {
  if (!demo.client) return;
  setState("checking");
  try {
    const outcome = await demo.client.autoMigrate({
      ignoreSkipped,
      confirm: async () => {
        await showReady();
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
    showOutcome({ action: result.alreadyMigrated ? "already_migrated" : "migrated", result });
  } catch (error) {
    showError(error);
  }
}

function showOutcome(outcome) {
  switch (outcome.action) {
    case "migrated":
    case "already_migrated":
      return showSuccess(outcome.result);
    case "rollback":
      $("#rollback-title").textContent = "Your data was restored to this browser";
      $("#rollback-text").textContent = `An emergency rollback is active for your organisation. ` +
        `${outcome.restored.length} item${outcome.restored.length === 1 ? " was" : "s were"} restored from the server ` +
        `(${outcome.rollback_reason || "EMERGENCY_ROLLBACK"}); the app works from this browser's data until it is lifted.`;
      $("#rollback-text").dataset.restored = String(outcome.restored.length);
      return setState("rollback", { outcome: "restored" });
    case "rollback_active":
      $("#rollback-title").textContent = "Emergency rollback active";
      $("#rollback-text").textContent = "Your data was already restored to this browser; the app works from it until the rollback is lifted.";
      return setState("rollback-active");
    case "disabled":
      $("#message-text").textContent = "Migration is not enabled for your organisation yet. Your data stays in this browser.";
      return setState("disabled");
    case "declined":
      return setState("skipped");
    case "skipped":
    case "not_needed":
    default:
      return setState(outcome.action === "skipped" ? "skipped" : "not-needed");
  }
}

function countRows(summary) {
  const tbody = $("#result-counts tbody");
  tbody.replaceChildren(...FAMILY_LABELS.map(([key, , many]) => {
    const tr = document.createElement("tr");
    tr.dataset.family = key;
    const a = document.createElement("td"), b = document.createElement("td");
    a.textContent = many.replace(/ \(.*\)$/, "");
    b.textContent = String(summary?.[key] ?? 0);
    b.className = "num";
    tr.append(a, b);
    return tr;
  }));
}

async function showSuccess(result) {
  demo.lastResult = result;
  $("#cleanup-result").hidden = true;
  delete $("#cleanup-result").dataset.removed;
  if (result.alreadyMigrated) {
    $("#result-title").textContent = "Already migrated";
    const when = result.migration_date ? new Date(result.migration_date).toLocaleString() : "earlier";
    $("#result-text").textContent = `Your data was already migrated (${when}), in another tab or on another device.`;
    let status = null;
    try { status = await demo.client.getStatus(); } catch { /* the counts are a nicety */ }
    countRows(status?.summary);
    const m = status?.manifest;
    $("#result-manifest").textContent = m ? `Keys: ${m.received} received, ${m.migrated} migrated, ${m.quarantined} quarantined, ${m.ignored} ignored.` : "";
    listItems($("#quarantined-list"), []);
    listItems($("#ignored-list"), []);
    $("#result-details").hidden = true;
    setState("success", { outcome: "already-migrated" });
    $("#btn-cleanup").hidden = true;
    return;
  }
  $("#result-title").textContent = "Migration completed";
  $("#result-text").textContent = `Records migrated: ${result.migratedRecords} in ${(result.duration_ms / 1000).toFixed(1)} s.` +
    (result.backup ? " A backup was kept." : "");
  countRows(result.summary);
  const m = result.manifest;
  $("#result-manifest").textContent = `Keys: ${m.received} received, ${m.migrated} migrated, ${m.quarantined} quarantined, ${m.ignored} ignored.`;
  listItems($("#quarantined-list"), result.quarantined.length
    ? result.quarantined.map((i) => [`${i.key} — ${i.reason}`, { key: i.key, reason: i.reason || "" }]) : [["none", {}]]);
  listItems($("#ignored-list"), result.ignored.length
    ? result.ignored.map((i) => [`${i.key} — ${i.reason}`, { key: i.key, reason: i.reason || "" }]) : [["none", {}]]);
  $("#result-details").hidden = false;
  setState("success", { outcome: "migrated" });
}

function showError(error) {
  demo.lastError = error;
  const e = error instanceof MigrationError ? error : new MigrationError(String(error?.message || error));
  $("#error-message").textContent = e.message;
  $("#error-code").textContent = e.status ? `${e.code} (HTTP ${e.status})` : e.code;
  $("#error-hint").textContent = e.retryable
    ? "Nothing was changed in this browser. You can retry now, or skip and keep working with your local data."
    : "Nothing was changed in this browser. Retrying will not help; you can skip and keep working with your local data.";
  setState("error", { code: e.code, retryable: e.retryable });
}

async function cleanup() {
  const button = $("#btn-cleanup");
  button.disabled = true;
  const out = $("#cleanup-result");
  try {
    const removed = await demo.client.cleanup();
    demo.lastCleanup = removed;
    out.textContent = `Removed ${removed.length} migrated item${removed.length === 1 ? "" : "s"} from this browser ` +
      "after checking the server holds each of them. Everything else stays.";
    out.dataset.removed = String(removed.length);
    button.hidden = true;
  } catch (error) {
    out.textContent = `Nothing was removed: ${error.message}`;
    out.dataset.removed = "error";
  } finally {
    button.disabled = false;
    out.hidden = false;
    renderStorage();
  }
}

// --- localStorage panel and sample data -------------------------------------------------------------------

function renderStorage() {
  const keys = storageKeys(localStorage).sort();
  const tbody = $("#storage-table tbody");
  const tenant = tenantOf();
  const rows = keys.map((key) => {
    const tr = document.createElement("tr");
    const value = localStorage.getItem(key) || "";
    const markers = Object.values(MARKERS).includes(key);
    const note = markers ? "client marker" : key === "auth_token" ? "never sent" : isMigratableKey(key) ? "sent" : "not sent";
    for (const [text, cls] of [[key, "key"], [value.length.toLocaleString(), "num"], [note, "note"]]) {
      const td = document.createElement("td");
      td.textContent = text;
      td.className = cls;
      tr.append(td);
    }
    tr.dataset.key = key;
    return tr;
  });
  tbody.replaceChildren(...rows);
  const s = summarizeLocal(Object.fromEntries(keys.map((k) => [k, localStorage.getItem(k)])), tenant);
  const summary = $("#storage-summary");
  summary.dataset.keys = String(keys.length);
  summary.textContent = keys.length
    ? `${keys.length} keys · ${s.agents} agents, ${s.llm_configs} LLM configs, ${s.mcp_servers} MCP servers, ` +
      `${s.chat_sessions} chat sessions, ${s.preferences} preference keys`
    : "empty";
}

function rng(seed) { // mulberry32: small, deterministic
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("agent tenant cosmos partition migrate backup vault secret chat session message model prompt tool " +
  "server context latency retry budget invoice customer ticket refund summary draft review deploy").split(" ");

/** A `typical`-shaped localStorage dump (smaller), modelled on bench/fixtures/generate.py. */
export function sampleData(tenant, seed = 1) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const hex = (n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");
  const uid = (prefix) => `${prefix}_${hex(12)}`;
  const secret = (prefix) => prefix + Array.from({ length: 40 }, () => pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split(""))).join("");
  const providers = [["openai", "gpt-4o", null], ["azure-openai", "gpt-4o-mini", `https://${tenant}-aoai.openai.azure.com/`],
    ["anthropic", "claude-sonnet-4", null]];
  const llms = providers.map(([provider, model, endpoint], i) => {
    const cfg = { id: uid("llm"), name: `${provider} ${model}`, provider, model, temperature: Math.round(r() * 120) / 100,
      maxTokens: pick([1024, 4096, 8192]), isDefault: i === 0, apiKey: secret(provider === "anthropic" ? "sk-ant-" : "sk-") };
    if (endpoint) Object.assign(cfg, { endpoint, apiVersion: "2024-10-21", deploymentName: `${model}-prod` });
    return cfg;
  });
  const mcps = [0, 1, 2, 3].map((i) => i % 2 === 0
    ? { id: uid("mcp"), name: `github-${i}`, transport: "stdio", command: "npx", args: ["-y", "@modelcontextprotocol/server-github"],
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: secret("ghp_") }, enabled: true }
    : { id: uid("mcp"), name: `search-${i}`, transport: "streamable-http", url: `https://mcp${i}.example.com/mcp`,
        headers: { Authorization: "Bearer " + secret("tok_") }, enabled: r() < 0.8 });
  const agents = Array.from({ length: 8 }, (_, i) => ({
    id: uid("agent"), name: `${words(2).replace(/\b\w/g, (c) => c.toUpperCase())} Agent`, description: words(12),
    systemPrompt: words(40 + Math.floor(r() * 80)), llmConfigId: pick(llms).id, temperature: Math.round(r() * 100) / 100,
    tools: ["web_search", "file_search"], mcpServerIds: [mcps[0].id, mcps[1].id],
    createdAt: new Date(Date.UTC(2025, 0, 1) + Math.floor(r() * 600) * 86400000).toISOString(), isDefault: i === 0,
  }));
  const chat = (n) => {
    let t = Date.UTC(2025, 5, 1) + Math.floor(r() * 500000) * 60000;
    const agent = pick(agents).id;
    return Array.from({ length: n }, (_, i) => {
      t += (5 + Math.floor(r() * 600)) * 1000;
      const role = i % 2 === 0 ? "user" : "assistant";
      const msg = { id: uid("msg"), role, content: words(5 + Math.floor(r() * 30)), timestamp: t };
      if (role === "assistant") msg.agentId = agent;
      return msg;
    });
  };
  const ls = {
    [`ai_agents_${tenant}`]: JSON.stringify(agents),
    [`user_llm_configs_${tenant}`]: JSON.stringify(llms),
    [`tenant_mcp_servers_${tenant}`]: JSON.stringify(mcps),
    theme: "dark",
    [`ui_preferences_${tenant}`]: JSON.stringify({ sidebarCollapsed: false, fontSize: 14, language: "en-GB", codeTheme: "github-dark" }),
    [`notification_preferences_${tenant}`]: JSON.stringify({ email: true, push: false, digest: "weekly" }),
    [`privacy_settings_${tenant}`]: JSON.stringify({ shareUsage: false, retainHistoryDays: 365 }),
    [`advanced_settings_${tenant}`]: JSON.stringify({ streaming: true, debug: false }),
    current_tenant_id: tenant,
    auth_token: "eyJhbGciOiJSUzI1NiJ9." + secret("") + "." + secret(""),
  };
  for (let i = 0; i < 6; i++) ls[`chat_session_${uid("sess")}`] = JSON.stringify(chat(4 + Math.floor(r() * 12)));
  ls[`chat_session_${tenant}_global`] = JSON.stringify(chat(6));
  return ls;
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
  else localStorage.setItem(MARKERS.skipped, "true");
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
