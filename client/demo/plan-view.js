// The "ready" view: what this browser would send, from the server's preview (or the local count without one).

import { MigrationClient } from "../migration-client.js";
import { $, listItems } from "./dom.js";
import { setState } from "./modal.js";
import { demo } from "./state.js";
import { renderStorage } from "./storage-panel.js";
import { describeAdditions, FAMILY_LABELS, STATE_TEXT } from "./wording.js";

function renderPlan(summary, source, ignored = [], quarantined = []) {
  listItems($("#plan-list"), summary ? FAMILY_LABELS.map(([key, one, many]) =>
    [`${summary[key] ?? 0} ${(summary[key] ?? 0) === 1 ? one : many}`, { family: key, count: String(summary[key] ?? 0) }]) : []);
  $("#plan-source").textContent = source;
  const stays = [...ignored.map((i) => [`${i.key} — ${i.reason}`, { key: i.key }]),
    ...quarantined.map((i) => [`${i.key} — kept raw (${i.reason})`, { key: i.key }])];
  $("#plan-stays-box").hidden = stays.length === 0;
  listItems($("#plan-stays"), stays);
}

/** The ready state with the plan: `given` (the preview autoMigrate made), else a fresh preview. */
export async function showReady(given = null) {
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
