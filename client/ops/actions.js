// Loading the dashboard and the operator's actions. Every call goes through `state.client` (api.js); `state` is
// the page's one state object, created in ops.js and passed to each function here.

import { ROUTES } from "./api.js";
import { $ } from "./dom.js";
import { clearError, isFatal, notice, setAppState, setBusy, showError, worst } from "./feedback.js";
import { formatInt, when } from "./format.js";
import { renderCharts, renderCriteria, renderKpis } from "./metrics.js";
import { renderTenants } from "./tenants.js";
import { renderValidation } from "./validation.js";

const tenantButtons = (state) => ({
  rollback: (tenant, start) => rollback(state, tenant, start),
  setRollout: (tenant, enabled) => setRollout(state, tenant, enabled),
});

function showTenants(state) {
  renderTenants(state.tenants, tenantButtons(state));
}

export async function loadAll(state) {
  if (!state.client || !state.token) {
    setAppState("idle");
    return;
  }
  const { request } = state.client;
  setBusy(state, +1);
  setAppState("loading");
  const [metrics, validation, tenants] = await Promise.allSettled([
    request("GET", ROUTES.metrics), request("GET", ROUTES.validation), request("GET", ROUTES.tenants)]);
  setBusy(state, -1);
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
    if (state.tenants) showTenants(state);
  } catch (e) {
    failures.push(e);
  }
  state.loads += 1;
  $("ops-app").dataset.loads = String(state.loads);
  if (failures.length) {
    const err = worst(failures);
    showError(state, err, "Loading the dashboard failed");
    if (isFatal(err) || !(state.metrics || state.tenants || state.validation)) {
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

export async function runSweep(state) {
  const status = $("sweep-status");
  status.dataset.state = "running";
  status.textContent = "Sweep running…";
  setBusy(state, +1);
  try {
    const result = await state.client.request("POST", ROUTES.sweep);
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
    showError(state, e, "Sweep");
    return;
  } finally {
    setBusy(state, -1);
  }
  await loadAll(state);
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

async function tenantAction(state, label, method, path, body, done) {
  setBusy(state, +1);
  try {
    await state.client.request(method, path, body);
    notice(done);
  } catch (e) {
    showError(state, e, label);
    return;
  } finally {
    setBusy(state, -1);
  }
  await refreshTenants(state);
}

async function refreshTenants(state) {
  try {
    const res = await state.client.request("GET", ROUTES.tenants);
    state.tenants = (res && res.tenants) || [];
    showTenants(state);
    $("tenants-table").dataset.refreshed = String(Date.now());
  } catch (e) {
    showError(state, e, "Reloading tenants");
  }
}

async function rollback(state, tenant, start) {
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
  await tenantAction(state, start ? "Starting the rollback" : "Lifting the rollback", start ? "POST" : "DELETE",
                     `${ROUTES.tenant(tenant)}/rollback`, undefined,
                     `${start ? "Rollback started" : "Rollback lifted"} for tenant ${tenant}.`);
}

async function setRollout(state, tenant, enabled) {
  const text = enabled === null ? "cleared (back to the setting)" : enabled ? "set to on" : "set to off";
  await tenantAction(state, "Changing the rollout", "PUT", `${ROUTES.tenant(tenant)}/rollout`, { enabled },
                     `Rollout override for tenant ${tenant} ${text}.`);
}
