// The ops page: metrics, success criteria, rollout/rollback per tenant, validation, sweep.
// Plain ES modules, no build step, no dependencies: this one signs in and wires the page; api.js is the one HTTP
// client, actions.js loads and acts, metrics.js / tenants.js / validation.js render, feedback.js reports.

import { loadAll, runSweep } from "./actions.js";
import { ApiError, createApi } from "./api.js";
import { $ } from "./dom.js";
import { clearError, setAppState, showError } from "./feedback.js";

/** The page's one state object, passed to every function that reads or changes it. */
const state = { api: "", token: "", client: null, metrics: null, validation: null, tenants: null, loads: 0, busy: 0 };

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
    state.client = null;
    showError(state, new ApiError("not a URL", { code: "INVALID_API_URL", status: 0 }), "Connection");
    $("ops-error-title").textContent = "The API base URL is not an http(s) URL";
    $("ops-error-detail").textContent = "Enter something like http://127.0.0.1:7071/api.";
    $("ops-error-server").textContent = "";
    setAppState("error");
    return;
  }
  state.client = createApi(state.api, () => state.token);
  if (!state.token) {
    setAppState("idle");
    return;
  }
  clearError();
  loadAll(state).catch((e) => { showError(state, e); setAppState("error"); });
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
  $("btn-refresh").addEventListener("click", () => loadAll(state));
  $("btn-sweep").addEventListener("click", () => runSweep(state));
  $("ops-error-dismiss").addEventListener("click", clearError);
  window.opsPage = {  // for tests and the console (the token stays out of it)
    get metrics() { return state.metrics; },
    get validation() { return state.validation; },
    get tenants() { return state.tenants; },
    reload: () => loadAll(state),
  };
  if (api && token) {
    $("cfg-token").value = token;
    connect(api, token);
  }
}

init();
