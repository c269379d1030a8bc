// The tenants table: state, rollout override and emergency rollback per tenant. The buttons call `actions`.

import { $, h } from "./dom.js";
import { formatInt, when } from "./format.js";

function segmented(t, actions) {
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
      onclick: () => actions.setRollout(t.tenant_id, value),
    })));
}

function stateBadge(t) {
  if (t.rollback_active) return h("span", { class: "badge badge-not-met", dataset: { testid: "tenant-state" }, text: "Rollback active" });
  if (t.migration_enabled) return h("span", { class: "badge badge-met", dataset: { testid: "tenant-state" }, text: "Migrating" });
  return h("span", { class: "badge badge-no-data", dataset: { testid: "tenant-state" }, text: "Not enabled" });
}

export function renderTenants(tenants, actions) {
  const rows = tenants.map((t) => h("tr", {
    dataset: { tenant: t.tenant_id, rollbackActive: String(Boolean(t.rollback_active)),
               migrationEnabled: String(Boolean(t.migration_enabled)),
               override: t.rollout_override === true ? "true" : t.rollout_override === false ? "false" : "null",
               testid: "tenant-row" },
  },
    h("td", { class: "tenant-id" }, h("code", { text: t.tenant_id, title: t.tenant_id }),
      t.updated_at ? h("div", { class: "muted small", text: `changed ${when(t.updated_at)}` }) : null),
    h("td", {}, stateBadge(t)),
    h("td", {}, segmented(t, actions)),
    h("td", { class: "num", dataset: { testid: "tenant-users" }, text: formatInt(t.users_started ?? 0) }),
    h("td", { class: "num", dataset: { testid: "tenant-completions" }, text: formatInt(t.completions ?? 0) }),
    h("td", { class: `num${t.failures ? " bad" : ""}`, dataset: { testid: "tenant-failures" }, text: formatInt(t.failures ?? 0) }),
    h("td", {}, t.rollback_active
      ? h("button", { type: "button", class: "btn small", dataset: { testid: "rollback-lift", action: "rollback-lift" },
                      text: "Lift rollback…", onclick: () => actions.rollback(t.tenant_id, false) })
      : h("button", { type: "button", class: "btn small danger-outline", dataset: { testid: "rollback-start", action: "rollback-start" },
                      text: "Start rollback…", onclick: () => actions.rollback(t.tenant_id, true) })),
  ));
  $("tenants-body").replaceChildren(...rows);
  $("tenants-empty").hidden = rows.length > 0;
  $("tenants-table").dataset.count = String(rows.length);
}
