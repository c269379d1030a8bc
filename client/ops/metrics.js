// The dashboard's figures: key numbers, charts and the seed plan's success criteria (§7).

import { COLORS, drawBars, drawDonut, drawTimeline } from "./charts.js";
import { $, h } from "./dom.js";
import { ago, formatInt, isNum, ms, pct, secs, when } from "./format.js";

const RECORD_LABELS = {
  agents: "Agents", llm_configs: "LLM configs", mcp_servers: "MCP servers", chat_sessions: "Chat sessions",
  chat_messages: "Chat messages", preferences: "Preferences",
};

function kpi(key, label, value, display, hint = "") {
  return h("div", { class: "kpi", id: `kpi-${key}`, dataset: { testid: `kpi-${key}`, value: value ?? "" } },
    h("div", { class: "kpi-label", text: label }),
    h("div", { class: "kpi-value", text: display }),
    hint ? h("div", { class: "kpi-hint", text: hint }) : null);
}

export function renderKpis(m) {
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
        isNum(perf.request_charge_per_migration) ? `${formatInt(perf.request_charge_per_migration)} RU` : "–",
        "Cosmos request units per completed migration"),
    kpi("tenants", "Tenants", m.tenants, formatInt(m.tenants ?? 0), "with migrations"),
  );
  const computed = m.computedAt;
  $("computed-at").textContent = computed ? `Metrics from the sweep at ${when(computed)} (${ago(computed)})` : "";
  $("computed-at").dataset.computedAt = computed || "";
}

// --- charts --------------------------------------------------------------------------------

function entries(obj) {
  return obj && typeof obj === "object" ? Object.entries(obj).filter(([, v]) => isNum(v)) : [];
}

export function renderCharts(m) {
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

// --- success criteria ------------------------------------------------------------------------

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

export function renderCriteria(m, reports) {
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
