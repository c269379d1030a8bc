// The outcome views: success (migrated, merged, already migrated), rollback, disabled, error; and cleanup.

import { MigrationError } from "../migration-client.js";
import { $, listItems } from "./dom.js";
import { setState } from "./modal.js";
import { demo } from "./state.js";
import { renderStorage } from "./storage-panel.js";
import { FAMILY_LABELS, FAMILY_NAMES } from "./wording.js";

export function showOutcome(outcome) {
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

export function showError(error) {
  demo.lastError = error;
  const e = error instanceof MigrationError ? error : new MigrationError(String(error?.message || error));
  $("#error-message").textContent = e.message;
  $("#error-code").textContent = e.status ? `${e.code} (HTTP ${e.status})` : e.code;
  $("#error-hint").textContent = e.retryable
    ? "Nothing was changed in this browser. You can retry now, or skip and keep working with your local data."
    : "Nothing was changed in this browser. Retrying will not help; you can skip and keep working with your local data.";
  setState("error", { code: e.code, retryable: e.retryable });
}

/** Remove migrated keys from this browser (the client's cleanup) and say what happened. */
export async function cleanup() {
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
