// Identity from the token: display and sample data only; the server decides.

import { $ } from "./dom.js";
import { demo } from "./state.js";

function claims(token) {
  try {
    const part = token.split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

export function tenantOf() {
  return claims(demo.config.token).tid || "contoso";
}

export function showIdentity() {
  const el = $("#whoami");
  if (!demo.config.token) {
    el.textContent = "not connected";
    return;
  }
  const c = claims(demo.config.token);
  el.dataset.tenant = c.tid || "";
  el.dataset.user = c.oid || c.sub || "";
  el.textContent = `tenant ${c.tid || "?"} · user ${c.oid || c.sub || "?"}`;
}
