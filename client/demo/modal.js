// The modal's states (published as data-* on #migration-modal for tests) and the in-progress view.

import { $ } from "./dom.js";
import { demo } from "./state.js";
import { renderStorage } from "./storage-panel.js";

const modal = $("#migration-modal");

const HIDDEN_STATES = new Set(["idle", "not-needed", "skipped", "closed"]);
const VIEW_OF = { checking: "checking", ready: "ready", "in-progress": "in-progress", success: "success",
  error: "error", rollback: "rollback", "rollback-active": "rollback", disabled: "message", message: "message" };
const BUTTONS_OF = { ready: ["btn-migrate", "btn-skip"], "in-progress": ["btn-migrate"], checking: [],
  success: ["btn-cleanup", "btn-close"], error: ["btn-retry", "btn-skip"], rollback: ["btn-close"],
  "rollback-active": ["btn-close"], disabled: ["btn-close"], message: ["btn-close"] };
const TITLES = { rollback: "Emergency Rollback", "rollback-active": "Emergency Rollback",
  success: "Data Migration", disabled: "Data Migration" };

export function setState(state, attrs = {}) {
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

/** The client's onProgress: the in-progress view and its steps. */
export function onProgress(event) {
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
