// What the page tells the operator: the error box (status, code, a plain explanation), notices, busy state.

import { ApiError, TIMEOUT_MS } from "./api.js";
import { $ } from "./dom.js";

/** An error → {title, detail, status, code, server}: what went wrong and what to do about it. */
export function describe(err, api) {
  if (!(err instanceof ApiError)) {
    return { title: "Unexpected error in the page", detail: String(err && err.message || err), status: "", code: "CLIENT_ERROR" };
  }
  const base = { status: String(err.status), code: err.code, server: err.status ? err.message : "" };
  switch (true) {
    case err.status === 0 && err.code === "TIMEOUT":
      return { ...base, title: "The API did not answer", detail: `No answer from ${api} within ${TIMEOUT_MS / 1000} s.` };
    case err.status === 0:
      return { ...base, title: "Cannot reach the API",
               detail: `No response from ${api}: the host is down, the URL is wrong, or its CORS settings do ` +
                       `not allow this page's origin (${window.location.origin}).` };
    case err.status === 401:
      return { ...base, title: "Not authenticated (401)",
               detail: "The token is missing, expired, or not valid for this API. Paste a fresh admin token." };
    case err.status === 403:
      return { ...base, title: "Forbidden (403)",
               detail: "The token is valid but is not an operator's: ops routes need the Migration.Admin role in one of " +
                       "the operator tenants (AUTH_ADMIN_TENANTS)." };
    case err.status === 503: {
      const after = err.retryAfterMs === null ? null : Math.ceil(err.retryAfterMs / 1000);
      return { ...base, title: "A store is unavailable (503)",
               detail: `The API could not reach one of its stores.${after !== null ? ` Retry after ${after} s.` : " Retry later."}` };
    }
    default:
      return { ...base, title: `Request failed (${err.status})`, detail: "" };
  }
}

/** The most telling of several failures: auth, then network, then the rest. */
export function worst(failures) {
  const rank = (e) => (e instanceof ApiError ? ({ 401: 0, 403: 1, 0: 2 })[e.status] ?? 3 : 4);
  return [...failures].sort((a, b) => rank(a) - rank(b))[0];
}

/** A failure the dashboard cannot be shown through (nothing it shows would be current). */
export const isFatal = (err) => err instanceof ApiError && [0, 401, 403].includes(err.status);

export function showError(state, err, context = "") {
  const d = describe(err, state.api);
  const box = $("ops-error");
  box.dataset.status = d.status;
  box.dataset.code = d.code;
  $("ops-error-title").textContent = context ? `${context}: ${d.title}` : d.title;
  $("ops-error-code").textContent = d.code;
  $("ops-error-detail").textContent = d.detail;
  $("ops-error-server").textContent = d.server ? `Server said: ${d.server}` : "";
  box.hidden = false;
}

export function clearError() {
  const box = $("ops-error");
  box.hidden = true;
  box.dataset.status = "";
  box.dataset.code = "";
}

export function notice(text, kind = "ok") {
  const el = $("ops-notice");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(Number(el.dataset.timer));  // the timer lives on its element: no module state
  el.dataset.timer = String(setTimeout(() => { el.hidden = true; }, 6000));
}

export function setAppState(s) {
  $("ops-app").dataset.state = s;
}

export function setBusy(state, delta) {
  state.busy = Math.max(0, state.busy + delta);
  $("ops-app").dataset.busy = state.busy ? "true" : "false";
  for (const id of ["btn-refresh", "btn-sweep", "btn-connect"]) $(id).disabled = state.busy > 0;
  for (const b of document.querySelectorAll("#tenants-body button")) b.disabled = state.busy > 0;
}
