// The localStorage panel: every key of this origin, whether it is sent (and its state after a preview) or kept.

import { storageKeys } from "../migration-client.js";
import { $ } from "./dom.js";
import { demo } from "./state.js";
import { EXCLUDED_TEXT } from "./wording.js";

export function renderStorage() {
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
