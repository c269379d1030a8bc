// The ops page: metrics, success criteria, rollout/rollback per tenant, validation, sweep.
// Plain ES module, no dependencies. Server text is only ever set with textContent or attributes.

import { COLORS, drawBars, drawDonut, drawTimeline, formatInt } from "./charts.js";

const ROUTES = {
  metrics: "/migration/admin/metrics",
  validation: "/migration/admin/validation",
  tenants: "/migration/admin/tenants",
  sweep: "/migration/admin/sweep",
  tenant: (t) => `/migration/admin/tenants/${encodeURIComponent(t)}`,
};
const TIMEOUT_MS = 30_000;

const RECORD_LABELS = {
  agents: "Agents", llm_configs: "LLM configs", mcp_servers: "MCP servers", chat_sessions: "Chat sessions",
  chat_messages: "Chat messages", preferences: "Preferences",
};

const state = { api: "", token: "", metrics: null, validation: null, tenants: null, loads: 0, busy: 0 };

const $ = (id) => document.getElementById(id);

/** createElement with attributes; children are nodes or strings (as text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k === "dataset") for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return el;
}

// --- formatting -----------------------------------------------------------------------------------------

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

function pct(v) {
  if (!isNum(v)) return "–";
  const p = v * 100;
  return `${p.toFixed(p === Math.round(p) ? 0 : 1)}%`;
}

function ms(v) {
  if (!isNum(v)) return "–";
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s` : `${formatInt(v)} ms`;
}

function secs(v) {
  if (!isNum(v)) return "–";
  return v < 1 ? `${formatInt(v * 1000)} ms` : `${v.toFixed(v < 10 ? 1 : 0)} s`;
}

function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function ago(iso) {
  const t = new Date(iso).getTime();
  if (!Number.isFinite(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// --- the API --------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body) {
  const url = state.api.replace(/\/+$/, "") + path;
  const headers = { Authorization: `Bearer ${state.token}`, Accept: "application/json" };
  const init = { method, headers, cache: "no-store", mode: "cors", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  init.signal = ctrl.signal;
  let resp, text;
  try {
    resp = await fetch(url, init);
    text = await resp.text();
  } catch (e) {
    const timeout = e && e.name === "AbortError";
    throw new ApiError(0, timeout ? "TIMEOUT" : "NETWORK_ERROR",
                       timeout ? `No answer within ${TIMEOUT_MS / 1000} s` : "The request did not reach the API");
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
      if (resp.ok) throw new ApiError(resp.status, "BAD_RESPONSE", "The API answered with something other than JSON");
    }
  }
  if (!resp.ok) {
    const code = data && typeof data.code === "string" ? data.code : `HTTP_${resp.status}`;
    const message = data && typeof data.error === "string" ? data.error : resp.statusText || "Request failed";
    throw new ApiError(resp.status, code, message, resp.headers.get("Retry-After"));
  }
  return data;
}

// --- errors and notices ---------------------------------------------------------------------------------

function describe(err) {
  const origin = window.location.origin;
  if (!(err instanceof ApiError)) {
    return { title: "Unexpected error in the page", detail: String(err && err.message || err), status: "", code: "CLIENT_ERROR" };
  }
  const base = { status: String(err.status), code: err.code, server: err.status ? err.message : "" };
  switch (true) {
    case err.status === 0 && err.code === "TIMEOUT":
      return { ...base, title: "The API did not answer", detail: `No answer from ${state.api} within ${TIMEOUT_MS / 1000} s.` };
    case err.status === 0:
      return { ...base, title: "Cannot reach the API",
               detail: `No response from ${state.api}: the host is down, the URL is wrong, or its CORS settings do ` +
                       `not allow this page's origin (${origin}).` };
    case err.status === 401:
      return { ...base, title: "Not authenticated (401)",
               detail: "The token is missing, expired, or not valid for this API. Paste a fresh admin token." };
    case err.status === 403:
      return { ...base, title: "Forbidden (403)",
               detail: "The token is valid but is not an operator's: ops routes need the Migration.Admin role in one of " +
                       "the operator tenants (AUTH_ADMIN_TENANTS)." };
    case err.status === 503:
      return { ...base, title: "A store is unavailable (503)",
               detail: `The API could not reach one of its stores.${err.retryAfter ? ` Retry after ${err.retryAfter} s.` : " Retry later."}` };
    default:
      return { ...base, title: `Request failed (${err.status})`, detail: "" };
  }
}

function showError(err, context = "") {
  const d = describe(err);
  const box = $("ops-error");
  box.dataset.status = d.status;
  box.dataset.code = d.code;
  $("ops-error-title").textContent = context ? `${context}: ${d.title}` : d.title;
  $("ops-error-code").textContent = d.code;
  $("ops-error-detail").textContent = d.detail;
  $("ops-error-server").textContent = d.server ? `Server said: ${d.server}` : "";
  box.hidden = false;
}

function clearError() {
  const box = $("ops-error");
  box.hidden = true;
  box.dataset.status = "";
  box.dataset.code = "";
}

let noticeTimer = null;
function notice(text, kind = "ok") {
  const el = $("ops-notice");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

function setAppState(s) {
  $("ops-app").dataset.state = s;
}

function setBusy(delta) {
  state.busy = Math.max(0, state.busy + delta);
  $("ops-app").dataset.busy = state.busy ? "true" : "false";
  for (const id of ["btn-refresh", "btn-sweep", "btn-connect"]) $(id).disabled = state.busy > 0;
  for (const b of document.querySelectorAll("#tenants-body button")) b.disabled = state.busy > 0;
}

// --- rendering: KPIs --------------------------------------------------------------------------------------

function kpi(key, label, value, display, hint = "") {
  return h("div", { class: "kpi", id: `kpi-${key}`, dataset: { testid: `kpi-${key}`, value: value ?? "" } },
    h("div", { class: "kpi-label", text: label }),
    h("div", { class: "kpi-value", text: display }),
    hint ? h("div", { class: "kpi-hint", text: hint }) : null);
}

function renderKpis(m) {
  const perf = m.performance_metrics || {};
  const counts = m.counts || {};
  $("kpis").replaceChildren(
    kpi("total_users", "Users started", m.total_users, formatInt(m.total_users ?? 0), "took a migration lease"),
    kpi("users_migrated", "Users migrated", m.users_migrated, formatInt(m.users_migrated ?? 0),
        isNum(counts.rollbacks) && counts.rollbacks ? `${formatInt(counts.rollbacks)} rolled back` : "none rolled back"),
    kpi("migration_success_rate", "Success rate", m.migration_success_rate, pct(m.migration_success_rate),
        `${formatInt(counts.completions ?? 0)} of ${formatInt((counts.completions ?? 0) + (counts.failures ?? 0))} finished`),
    kpi("average_migration_time", "Average time", perf.average_migration_time, ms(perf.average_migration_time), "per completion"),
    kpi("p95_migration_time", "p95 time", perf.p95_migration_time, ms(perf.p95_migration_time), "bucket upper bound"),
    kpi("peak_migration_load", "Peak load", perf.peak_migration_load, formatInt(perf.peak_migration_load ?? 0), "max per minute"),
    kpi("request_charge_per_migration", "RU per user", perf.request_charge_per_migration,
        isNum(perf.request_charge_per_migration) ? `${formatInt(perf.request_charge_per_migration)} RU` : "–", "Cosmos request units per completed migration"),
    kpi("tenants", "Tenants", m.tenants, formatInt(m.tenants ?? 0), "with migrations"),
  );
  const computed = m.computedAt;
  $("computed-at").textContent = computed ? `Metrics from the sweep at ${when(computed)} (${ago(computed)})` : "";
  $("computed-at").dataset.computedAt = computed || "";
}

// --- rendering: charts --------------------------------------------------------------------------------

function entries(obj) {
  return obj && typeof obj === "object" ? Object.entries(obj).filter(([, v]) => isNum(v)) : [];
}

function renderCharts(m) {
  drawTimeline($("chart-timeline"), m.migrations_per_hour || []);

  const c = m.counts || {};
  const completions = c.completions || 0, failures = c.failures || 0;
  const unfinished = Math.max(0, (c.attempts || 0) - completions - failures);
  const segments = [
    { key: "completions", label: "Completed", value: completions, color: COLORS.green },
    { key: "failures", label: "Failed", value: failures, color: COLORS.red },
    { key: "unfinished", label: "Unfinished (in progress or crashed)", value: unfinished, color: COLORS.slate },
  ];
  drawDonut($("chart-success"), segments, pct(m.migration_success_rate), "success rate");
  const legend = segments.map((s) => h("li", { dataset: { key: s.key, value: s.value } },
    h("span", { class: `swatch swatch-${s.key}` }), h("span", { class: "legend-label", text: s.label }),
    h("span", { class: "legend-value", text: formatInt(s.value) })));
  if (isNum(c.backups_written)) {
    legend.push(h("li", { class: "legend-extra", dataset: { key: "backups" } },
      h("span", { class: "legend-label", text: "Backups verified" }),
      h("span", { class: "legend-value", text: `${formatInt(c.backups_verified || 0)} / ${formatInt(c.backups_written)}` })));
  }
  $("success-legend").replaceChildren(...legend);

  const known = Object.keys(RECORD_LABELS);
  const records = entries(m.records_by_type)
    .sort(([a], [b]) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99))
    .map(([k, v]) => ({ key: k, label: RECORD_LABELS[k] || k, value: v }));
  drawBars($("chart-records"), records, { color: COLORS.blue, log: true, empty: "No records migrated yet",
                                          label: "Records by type" });

  const byValue = ([, a], [, b]) => b - a;
  drawBars($("chart-errors"),
           entries(m.error_breakdown).sort(byValue).map(([k, v]) => ({ key: k, label: k, value: v })),
           { color: COLORS.red, empty: "No failed attempts", label: "Failed attempts by error code", labelsAbove: true });
  drawBars($("chart-quarantine"),
           entries(m.quarantine_breakdown).sort(byValue).map(([k, v]) => ({ key: k, label: k, value: v })),
           { color: COLORS.amber, empty: "No quarantined keys", label: "Quarantined keys by reason", labelsAbove: true });
}

// --- rendering: success criteria ------------------------------------------------------------------------

const CRITERIA = [
  { key: "completion_rate", label: "Completion rate", seed: "> 95% of users migrate successfully", cmp: "≥", fmt: pct },
  { key: "error_rate", label: "Error rate", seed: "< 2% of attempts end in errors", cmp: "≤", fmt: pct },
  { key: "p95_migration_seconds", label: "Migration time (p95)", seed: "< 30 s for typical users", cmp: "≤", fmt: secs },
  { key: "backup_success", label: "Backup success", seed: "100% of backups created and verified", cmp: "≥", fmt: pct },
];

function badge(met) {
  const [cls, text] = met === true ? ["met", "Met"] : met === false ? ["not-met", "Not met"] : ["no-data", "No data"];
  return h("span", { class: `badge badge-${cls}`, dataset: { testid: "criterion-badge" }, text });
}

function criterion(key, label, seed, valueText, targetText, met, source) {
  const metAttr = met === true ? "true" : met === false ? "false" : "none";
  return h("li", { class: `criterion criterion-${metAttr}`, dataset: { criterion: key, met: metAttr, testid: `criterion-${key}` } },
    h("div", { class: "criterion-main" },
      h("div", { class: "criterion-label", text: label }),
      h("div", { class: "criterion-seed", text: seed })),
    h("div", { class: "criterion-figures" },
      h("div", { class: "criterion-value", text: valueText }),
      h("div", { class: "criterion-target", text: targetText })),
    badge(met),
    source ? h("span", { class: "sr-only", text: source }) : null);
}

function renderCriteria(m, reports) {
  const sc = m.success_criteria || {};
  const items = CRITERIA.map((c) => {
    const x = sc[c.key] || {};
    const met = x.met === true ? true : x.met === false ? false : null;
    const el = criterion(c.key, c.label, c.seed, isNum(x.value) ? c.fmt(x.value) : "no data",
                         isNum(x.target) ? `target ${c.cmp} ${c.fmt(x.target)}` : "", met, "metrics");
    el.dataset.value = isNum(x.value) ? String(x.value) : "";
    el.dataset.target = isNum(x.target) ? String(x.target) : "";
    return el;
  });
  // Two more from the seed (§7), judged by the latest validation report.
  const latest = reports && reports.length ? reports[0] : null;
  const issues = latest ? (latest.issue_count ?? (latest.issues_found || []).length) : null;
  const isolation = latest ? (latest.issues_found || []).filter((i) => i && i.type === "TENANT_ISOLATION_VIOLATION").length : null;
  items.push(criterion("data_integrity", "Data integrity", "100% preservation, zero loss (latest validation)",
                       latest ? `${formatInt(issues)} issue${issues === 1 ? "" : "s"}` : "no data", "target 0 issues",
                       latest ? Boolean(latest.success) : null, "validation"));
  items.push(criterion("tenant_isolation", "Tenant isolation", "100% of tenant boundaries validated (latest validation)",
                       latest ? `${formatInt(isolation)} violation${isolation === 1 ? "" : "s"}` : "no data",
                       "target 0 violations", latest ? isolation === 0 : null, "validation"));
  $("criteria-list").replaceChildren(...items);
}

// --- rendering: tenants ---------------------------------------------------------------------------------

function segmented(t) {
  const current = t.rollout_override === true ? "on" : t.rollout_override === false ? "off" : "default";
  const options = [
    ["default", `Default (${t.rollout_default ? "on" : "off"})`, null],
    ["on", "On", true],
    ["off", "Off", false],
  ];
  return h("div", { class: "segmented", role: "group", "aria-label": "Rollout override" },
    options.map(([key, label, value]) => h("button", {
      type: "button", class: `seg${current === key ? " active" : ""}`, "aria-pressed": current === key ? "true" : "false",
      dataset: { testid: `rollout-${key}`, action: `rollout-${key}` }, text: label,
      onclick: () => setRollout(t.tenant_id, value),
    })));
}

function stateBadge(t) {
  if (t.rollback_active) return h("span", { class: "badge badge-not-met", dataset: { testid: "tenant-state" }, text: "Rollback active" });
  if (t.migration_enabled) return h("span", { class: "badge badge-met", dataset: { testid: "tenant-state" }, text: "Migrating" });
  return h("span", { class: "badge badge-no-data", dataset: { testid: "tenant-state" }, text: "Not enabled" });
}

function renderTenants(tenants) {
  const rows = tenants.map((t) => h("tr", {
    dataset: { tenant: t.tenant_id, rollbackActive: String(Boolean(t.rollback_active)),
               migrationEnabled: String(Boolean(t.migration_enabled)),
               override: t.rollout_override === true ? "true" : t.rollout_override === false ? "false" : "null",
               testid: "tenant-row" },
  },
    h("td", { class: "tenant-id" }, h("code", { text: t.tenant_id, title: t.tenant_id }),
      t.updated_at ? h("div", { class: "muted small", text: `changed ${when(t.updated_at)}` }) : null),
    h("td", {}, stateBadge(t)),
    h("td", {}, segmented(t)),
    h("td", { class: "num", dataset: { testid: "tenant-users" }, text: formatInt(t.users_started ?? 0) }),
    h("td", { class: "num", dataset: { testid: "tenant-completions" }, text: formatInt(t.completions ?? 0) }),
    h("td", { class: `num${t.failures ? " bad" : ""}`, dataset: { testid: "tenant-failures" }, text: formatInt(t.failures ?? 0) }),
    h("td", {}, t.rollback_active
      ? h("button", { type: "button", class: "btn small", dataset: { testid: "rollback-lift", action: "rollback-lift" },
                      text: "Lift rollback…", onclick: () => rollback(t.tenant_id, false) })
      : h("button", { type: "button", class: "btn small danger-outline", dataset: { testid: "rollback-start", action: "rollback-start" },
                      text: "Start rollback…", onclick: () => rollback(t.tenant_id, true) })),
  ));
  $("tenants-body").replaceChildren(...rows);
  $("tenants-empty").hidden = rows.length > 0;
  $("tenants-table").dataset.count = String(rows.length);
}

// --- rendering: validation ----------------------------------------------------------------------------

function dataList(data) {
  if (!data || typeof data !== "object") return h("span", { class: "muted", text: "–" });
  return h("dl", { class: "kv" }, Object.entries(data).map(([k, v]) => [
    h("dt", { text: k }),
    h("dd", { text: typeof v === "string" ? v : JSON.stringify(v) }),
  ]));
}

function renderReport(r, index) {
  const issues = Array.isArray(r.issues_found) ? r.issues_found : [];
  const count = r.issue_count ?? issues.length;
  const el = h("details", {
    class: `report ${r.success ? "report-ok" : "report-bad"}`, open: index === 0,
    dataset: { testid: "validation-report", success: String(Boolean(r.success)), usersChecked: r.users_checked ?? "",
               issueCount: count, createdAt: r.createdAt || "" },
  },
    h("summary", {},
      h("span", { class: `badge ${r.success ? "badge-met" : "badge-not-met"}`, text: r.success ? "Passed" : "Issues found" }),
      h("span", { class: "report-when", text: when(r.createdAt) }),
      h("span", { class: "report-fig", text: `${formatInt(r.users_checked ?? 0)} users checked` }),
      isNum(r.new_since_checkpoint) ? h("span", { class: "report-fig muted", text: `${formatInt(r.new_since_checkpoint)} new · ${formatInt(r.sampled_older ?? 0)} sampled` }) : null,
      h("span", { class: `report-fig${count ? " bad" : ""}`, text: `${formatInt(count)} issue${count === 1 ? "" : "s"}` }),
      isNum(r.duration_ms) ? h("span", { class: "report-fig muted", text: ms(r.duration_ms) }) : null),
    h("div", { class: "report-body" },
    h("div", { class: "checks" }, h("span", { class: "muted small", text: "Checks: " }),
      (r.checks_performed || []).map((c) => h("span", { class: "chip", text: c }))),
    issues.length
      ? h("table", { class: "table issues", dataset: { testid: "validation-issues" } },
          h("thead", {}, h("tr", {}, h("th", { text: "Type" }), h("th", { text: "Description" }), h("th", { text: "Data" }))),
          h("tbody", {}, issues.map((i) => h("tr", { class: "issue", dataset: { type: (i && i.type) || "", testid: "validation-issue" } },
            h("td", {}, h("code", { class: "issue-type", text: (i && i.type) || "?" })),
            h("td", { class: "issue-desc", text: (i && i.description) || "" }),
            h("td", {}, dataList(i && i.data))))))
      : h("p", { class: "muted small", text: "No issues found." }),
    count > issues.length ? h("p", { class: "muted small", text: `${formatInt(count - issues.length)} more issue(s) not listed.` }) : null),
  );
  return el;
}

function renderValidation(reports) {
  const list = $("validation-list");
  if (!reports.length) {
    list.replaceChildren(h("p", { class: "empty", dataset: { testid: "validation-empty" },
                                  text: "No validation report in the last 7 days. Run a sweep to make one." }));
    return;
  }
  list.replaceChildren(...reports.map(renderReport));
}

// --- loading and actions ------------------------------------------------------------------------------

async function loadAll() {
  if (!state.api || !state.token) {
    setAppState("idle");
    return;
  }
  setBusy(+1);
  setAppState("loading");
  const [metrics, validation, tenants] = await Promise.allSettled([
    request("GET", ROUTES.metrics), request("GET", ROUTES.validation), request("GET", ROUTES.tenants)]);
  setBusy(-1);
  const failures = [metrics, validation, tenants].filter((r) => r.status === "rejected").map((r) => r.reason);
  if (validation.status === "fulfilled") state.validation = (validation.value && validation.value.reports) || [];
  if (metrics.status === "fulfilled") state.metrics = metrics.value || {};
  if (tenants.status === "fulfilled") state.tenants = (tenants.value && tenants.value.tenants) || [];
  try {
    if (state.metrics) {
      renderKpis(state.metrics);
      renderCharts(state.metrics);
      renderCriteria(state.metrics, state.validation);
    }
    if (state.validation) renderValidation(state.validation);
    if (state.tenants) renderTenants(state.tenants);
  } catch (e) {
    failures.push(e);
  }
  state.loads += 1;
  $("ops-app").dataset.loads = String(state.loads);
  if (failures.length) {
    // Prefer the most telling failure: auth, then network, then the rest.
    const rank = (e) => (e instanceof ApiError ? ({ 401: 0, 403: 1, 0: 2 })[e.status] ?? 3 : 4);
    const worst = failures.sort((a, b) => rank(a) - rank(b))[0];
    showError(worst, "Loading the dashboard failed");
    const fatal = worst instanceof ApiError && [0, 401, 403].includes(worst.status);
    if (fatal || !(state.metrics || state.tenants || state.validation)) {
      $("dashboard").hidden = true;
      $("ops-intro").hidden = true;
      setAppState("error");
      return;
    }
  } else {
    clearError();
  }
  $("ops-intro").hidden = true;
  $("dashboard").hidden = false;
  setAppState("ready");
}

async function runSweep() {
  const status = $("sweep-status");
  status.dataset.state = "running";
  status.textContent = "Sweep running…";
  setBusy(+1);
  try {
    const result = await request("POST", ROUTES.sweep);
    const v = (result && result.validation) || {};
    const issues = v.issue_count ?? (v.issues_found || []).length;
    status.dataset.state = "done";
    status.dataset.issues = String(issues);
    status.dataset.usersChecked = String(v.users_checked ?? "");
    status.textContent = `Sweep finished ${when(v.createdAt || new Date().toISOString())}: ` +
                         `${formatInt(v.users_checked ?? 0)} users checked, ${formatInt(issues)} issue${issues === 1 ? "" : "s"}.`;
  } catch (e) {
    status.dataset.state = "error";
    status.textContent = "Sweep failed.";
    showError(e, "Sweep");
    return;
  } finally {
    setBusy(-1);
  }
  await loadAll();
}

function confirmDialog({ title, message, tenant, ok }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-message").textContent = message;
  $("confirm-tenant").textContent = tenant;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

async function tenantAction(label, method, path, body, done) {
  setBusy(+1);
  try {
    await request(method, path, body);
    notice(done);
  } catch (e) {
    showError(e, label);
    return;
  } finally {
    setBusy(-1);
  }
  await refreshTenants();
}

async function refreshTenants() {
  try {
    const res = await request("GET", ROUTES.tenants);
    state.tenants = (res && res.tenants) || [];
    renderTenants(state.tenants);
    $("tenants-table").dataset.refreshed = String(Date.now());
  } catch (e) {
    showError(e, "Reloading tenants");
  }
}

async function rollback(tenant, start) {
  const ok = await confirmDialog(start ? {
    title: "Start an emergency rollback?",
    message: "New migrations of this tenant are refused (409 ROLLBACK_ACTIVE); each user's next export returns " +
             "the rollback package and marks them rolled back, so their browsers switch back to localStorage.",
    tenant, ok: "Start rollback",
  } : {
    title: "Lift the emergency rollback?",
    message: "This tenant's users may migrate again (their data is migrated anew from their browsers).",
    tenant, ok: "Lift rollback",
  });
  if (!ok) return;
  await tenantAction(start ? "Starting the rollback" : "Lifting the rollback", start ? "POST" : "DELETE",
                     `${ROUTES.tenant(tenant)}/rollback`, undefined,
                     `${start ? "Rollback started" : "Rollback lifted"} for tenant ${tenant}.`);
}

async function setRollout(tenant, enabled) {
  const text = enabled === null ? "cleared (back to the setting)" : enabled ? "set to on" : "set to off";
  await tenantAction("Changing the rollout", "PUT", `${ROUTES.tenant(tenant)}/rollout`, { enabled },
                     `Rollout override for tenant ${tenant} ${text}.`);
}

// --- start ----------------------------------------------------------------------------------------------

function validApi(value) {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

function connect(api, token) {
  state.api = api.trim();
  state.token = token.trim();
  if (!validApi(state.api)) {
    showError(new ApiError(0, "INVALID_API_URL", "not a URL"), "Connection");
    $("ops-error-title").textContent = "The API base URL is not an http(s) URL";
    $("ops-error-detail").textContent = "Enter something like http://127.0.0.1:7071/api.";
    $("ops-error-server").textContent = "";
    setAppState("error");
    return;
  }
  if (!state.token) {
    setAppState("idle");
    return;
  }
  clearError();
  loadAll().catch((e) => { showError(e); setAppState("error"); });
}

const TOKEN_KEY = "migrationOps.token";  // sessionStorage: gone with the tab, never in a URL or history

function storedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lives in this page only */ }
}

function init() {
  const params = new URLSearchParams(window.location.search);
  const api = params.get("api") || "";
  $("cfg-api").value = api;
  if (params.has("token")) {
    // A token in a URL lands in history, server logs and Referer headers: never use one, and drop it.
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", window.location.pathname + (rest ? `?${rest}` : "") + window.location.hash);
    $("url-token-refused").hidden = false;
  }
  const token = storedToken();
  $("conn-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("url-token-refused").hidden = true;
    storeToken($("cfg-token").value.trim());
    connect($("cfg-api").value, $("cfg-token").value);
  });
  $("btn-signout").addEventListener("click", () => {
    storeToken("");
    state.token = "";
    $("cfg-token").value = "";
    setAppState("idle");
  });
  $("btn-refresh").addEventListener("click", () => loadAll());
  $("btn-sweep").addEventListener("click", () => runSweep());
  $("ops-error-dismiss").addEventListener("click", clearError);
  window.opsPage = {  // for tests and the console (the token stays out of it)
    get metrics() { return state.metrics; },
    get validation() { return state.validation; },
    get tenants() { return state.tenants; },
    reload: loadAll,
  };
  if (api && token) {
    $("cfg-token").value = token;
    connect(api, token);
  }
}

init();
