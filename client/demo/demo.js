// The seed's MigrationModal in plain JS, on top of ../migration-client.js.
//
// Query parameters: api (base URL incl. /api), token (bearer), retry (attempts, default 4),
// retryDelay (base delay ms), check=0 (do not check on load). States are published on
// #migration-modal as data-state / data-phase / data-outcome / data-code / data-retryable.

import { createMigrationClient, MigrationClient, MigrationError, storageKeys } from "../migration-client.js";

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
  lastPlan: null,
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
  const merging = !!demo.lastPlan?.stored;
  migrate.innerHTML = busy ? `<span class="spinner light" aria-hidden="true"></span> ${merging ? "Adding" : "Migrating"}…`
    : merging ? "Add to my account (Recommended)" : "Migrate Now (Recommended)";
  $("#modal-title").textContent = (merging && state === "ready" && "This browser has data to add") ||
    TITLES[state] || "Data Migration Required";
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
  listItems($("#plan-list"), summary ? FAMILY_LABELS.map(([key, one, many]) =>
    [`${summary[key] ?? 0} ${(summary[key] ?? 0) === 1 ? one : many}`, { family: key, count: String(summary[key] ?? 0) }]) : []);
  $("#plan-source").textContent = source;
  const stays = [...ignored.map((i) => [`${i.key} — ${i.reason}`, { key: i.key }]),
    ...quarantined.map((i) => [`${i.key} — kept raw (${i.reason})`, { key: i.key }])];
  $("#plan-stays-box").hidden = stays.length === 0;
  listItems($("#plan-stays"), stays);
}

// Display names of the server's merge families (the families themselves are the server's business).
const FAMILY_NAMES = { chat_sessions: ["chat session", "chat sessions"], agents: ["agent", "agents"],
  llm_configs: ["LLM configuration", "LLM configurations"], mcp_servers: ["MCP server", "MCP servers"],
  preferences: ["preference", "preferences"], unknown: ["other item", "other items"] };

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "25 chat sessions and 3 agents" from {family: count}; "" when all are 0. */
export function familyPhrase(counts) {
  const parts = Object.keys(FAMILY_NAMES).filter((f) => (counts[f] || 0) > 0)
    .map((f) => plural(counts[f], ...FAMILY_NAMES[f]));
  const extra = Object.keys(counts).filter((f) => !FAMILY_NAMES[f] && counts[f] > 0)
    .map((f) => plural(counts[f], `${f} item`, `${f} items`));
  const all = [...parts, ...extra];
  return all.length <= 1 ? all.join("") : `${all.slice(0, -1).join(", ")} and ${all[all.length - 1]}`;
}

const sumOf = (counts) => Object.values(counts).reduce((a, b) => a + (b || 0), 0);

/** What a merge preview says this browser would add to the migrated account. */
export function describeAdditions(plan) {
  const stored = plan.stored || { counts: {}, keys: [] };
  const merge = plan.merge;
  const sentences = [];
  if (merge && merge.by_family) {
    const pick = (field) => Object.fromEntries(Object.entries(merge.by_family).map(([f, c]) => [f, c[field] || 0]));
    const added = pick("added"), updated = pick("updated");
    if (sumOf(added)) sentences.push(`This browser has ${familyPhrase(added)} that ${sumOf(added) === 1 ? "is" : "are"} not in your account yet.`);
    if (sumOf(updated)) sentences.push(`It also has newer versions of ${familyPhrase(updated)} (edited or continued here).`);
    if (merge.conflicts) sentences.push(`${plural(merge.conflicts, "item differs", "items differ")} from what another browser stored: both versions will be kept.`);
  } else {
    const c = stored.counts;
    if (c.new) sentences.push(`This browser has ${plural(c.new, "key", "keys")} that ${c.new === 1 ? "is" : "are"} not in your account yet.`);
    if (c.changed) sentences.push(`${plural(c.changed, "key holds", "keys hold")} additions or newer versions.`);
    if (c.conflict) sentences.push(`${plural(c.conflict, "key differs", "keys differ")} from what another browser stored: both versions will be kept.`);
  }
  return sentences.join(" ") || "Everything in this browser is already in your account.";
}

const STATE_TEXT = { new: "not in your account yet", changed: "adds or updates items", conflict: "differs from another browser's version" };

async function showReady(given = null) {
  setState("checking");
  let plan = given;
  try {
    if (!plan) plan = await demo.client.preview();
  } catch (error) {
    plan = null;
  }
  demo.lastPlan = plan;
  const mergeBox = $("#merge-box");
  if (!plan) {
    const { data } = demo.client.collect();
    renderPlan(null, `The server's plan is not available right now; ${Object.keys(data).length} keys of this ` +
      "browser would be sent.");
    $("#plan-source").dataset.source = "none";
    mergeBox.hidden = true;
  } else {
    renderPlan(plan.summary, `Planned by the server: ${plan.manifest.migrated} of ${plan.manifest.received} keys, ` +
      `${plan.documents} records, ${plan.secrets} secrets to Key Vault.`, plan.ignored, plan.quarantined);
    $("#plan-source").dataset.source = "server";
    mergeBox.hidden = !plan.stored;
    if (plan.stored) {
      const text = $("#merge-text");
      text.textContent = describeAdditions(plan);
      text.dataset.pending = String(MigrationClient.pendingKeys(plan));
      listItems($("#merge-keys"), plan.stored.keys.filter((k) => k.state !== "unchanged")
        .map((k) => [`${k.key} — ${STATE_TEXT[k.state] || k.state}`, { key: k.key, state: k.state }]));
    }
  }
  $("#plan-box h4").textContent = plan?.stored ? "What this browser holds" : "What will be migrated?";
  setState("ready", { outcome: plan?.stored ? "merge" : "first" });
  renderStorage();
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

function showOutcome(outcome) {
  switch (outcome.action) {
    case "migrated":
    case "merged":
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
    $("#merge-result").hidden = true;
    setState("success", { outcome: "already-migrated" });
    $("#btn-cleanup").hidden = true;
    return;
  }
  const merge = result.merge;
  $("#result-title").textContent = merge ? "Merged into your account" : "Migration completed";
  $("#result-text").textContent = (merge
    ? `From this browser: ${merge.added} added, ${merge.updated} updated, ${merge.unchanged} already there, ` +
      `${merge.conflicts} kept as conflict copies (nothing was overwritten), in ${(result.duration_ms / 1000).toFixed(1)} s.`
    : `Records migrated: ${result.migratedRecords} in ${(result.duration_ms / 1000).toFixed(1)} s.`) +
    (result.backup ? " A backup was kept." : "");
  $("#result-text").dataset.conflicts = String(merge ? merge.conflicts : 0);
  countRows(result.summary);
  const m = result.manifest;
  $("#result-manifest").textContent = `Keys: ${m.received} received, ${m.migrated} migrated, ${m.quarantined} quarantined, ${m.ignored} ignored.`;
  listItems($("#quarantined-list"), result.quarantined.length
    ? result.quarantined.map((i) => [`${i.key} — ${i.reason}`, { key: i.key, reason: i.reason || "" }]) : [["none", {}]]);
  listItems($("#ignored-list"), result.ignored.length
    ? result.ignored.map((i) => [`${i.key} — ${i.reason}`, { key: i.key, reason: i.reason || "" }]) : [["none", {}]]);
  $("#result-details").hidden = false;
  await renderMerge(merge);
  setState("success", { outcome: merge ? "merged" : "migrated" });
}

async function renderMerge(merge) {
  $("#merge-result").hidden = !merge;
  $("#conflicts-box").hidden = true;
  if (!merge) return;
  const tbody = $("#merge-counts tbody");
  tbody.replaceChildren(...Object.entries(merge.by_family || {}).map(([family, c]) => {
    const tr = document.createElement("tr");
    tr.dataset.family = family;
    const cells = [[FAMILY_NAMES[family]?.[1] || family, ""], ...["added", "updated", "unchanged", "conflicts"]
      .map((f) => [String(c[f] || 0), "num"])];
    for (const [text, cls] of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      td.className = cls;
      tr.append(td);
    }
    return tr;
  }));
  if (!merge.conflicts) return;
  // Which keys hold conflict copies: the export lists them (never their values here: they may hold secrets).
  try {
    const pkg = await demo.client.exportData();
    const mine = demo.client.browserId();
    const sent = new Set(Object.keys(demo.client.lastMigration?.sent || {}));
    const rows = (pkg.conflicts || []).filter((c) => sent.has(c.key)).map((c) =>
      [`${c.key} — ${c.browser_id === mine ? "this browser's version" : `version of browser ${c.browser_id}`}`,
        { key: c.key, browser: c.browser_id }]);
    listItems($("#conflict-list"), rows);
    $("#conflicts-box").hidden = rows.length === 0;
  } catch {
    listItems($("#conflict-list"), [["(the list is not available right now)", {}]]);
    $("#conflicts-box").hidden = false;
  }
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

const EXCLUDED_TEXT = { auth_token: "never sent (credential)", client_marker: "client marker", excluded: "not sent (excluded)" };

function renderStorage() {
  const keys = storageKeys(localStorage).sort();
  const tbody = $("#storage-table tbody");
  const excluded = new Map((demo.client ? demo.client.collect().excluded : []).map((e) => [e.key, e.reason]));
  const states = new Map((demo.lastPlan?.stored?.keys || []).map((k) => [k.key, k.state]));
  const rows = keys.map((key) => {
    const tr = document.createElement("tr");
    const value = localStorage.getItem(key) || "";
    const reason = demo.client ? excluded.get(key) : null;
    const note = reason ? EXCLUDED_TEXT[reason] || reason : !demo.client ? "" : states.has(key) ? `sent · ${states.get(key)}` : "sent";
    for (const [text, cls] of [[key, "key"], [value.length.toLocaleString(), "num"], [note, "note"]]) {
      const td = document.createElement("td");
      td.textContent = text;
      td.className = cls;
      tr.append(td);
    }
    tr.dataset.key = key;
    if (reason) tr.dataset.excluded = reason;
    return tr;
  });
  tbody.replaceChildren(...rows);
  const summary = $("#storage-summary");
  summary.dataset.keys = String(keys.length);
  summary.textContent = !keys.length ? "empty"
    : demo.client ? `${keys.length} keys · ${keys.length - excluded.size} sent, ${excluded.size} kept here`
      : `${keys.length} keys`;
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
