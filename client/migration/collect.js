// Which localStorage keys are sent.
//
// Every key of the origin is sent, so the server accounts for each one (unknown keys are quarantined and kept
// raw): a key the app keeps outside the plan's prefixes (`language`, `draft_<id>`) is not lost once the app stops
// reading localStorage. Only credentials, the client's own keys and an exclusion list stay here, and
// `collectStorage()` lists them with a reason.

import { LEASE_KEY, MARKERS } from "./markers.js";

/** Sign-in credentials: never sent, never stored (MSAL's cache keys included). */
const AUTH_KEYS = new Set(["auth_token", "access_token", "refresh_token", "id_token"]);
const AUTH_PATTERNS = [/^msal\./i, /-(accesstoken|refreshtoken|idtoken)-/i];
const CLIENT_KEYS = new Set([...Object.values(MARKERS), LEASE_KEY]);

/** Third-party analytics and tracking keys that are not the user's data. Replace with the `exclude` option. */
export const DEFAULT_EXCLUDE = Object.freeze({
  prefixes: Object.freeze(["_ga", "_gid", "_gcl", "amplitude_", "AMP_", "mp_", "ajs_", "_hj", "intercom.",
    "optimizely", "__stripe", "_fbp", "_fbc", "__hs", "hubspot", "_pk_", "_clck", "_clsk", "ph_"]),
  keys: Object.freeze([]),
});

/**
 * Why a key is not sent, or null when it is sent: `auth_token`, `client_marker` or `excluded`.
 * @param {string} key
 * @param {{prefixes?: readonly string[], keys?: readonly string[]}} [exclude]
 */
export function exclusionReason(key, exclude = DEFAULT_EXCLUDE) {
  if (AUTH_KEYS.has(key) || AUTH_PATTERNS.some((p) => p.test(key))) return "auth_token";
  if (CLIENT_KEYS.has(key)) return "client_marker";
  if ((exclude.keys || []).includes(key) || (exclude.prefixes || []).some((p) => key.startsWith(p))) return "excluded";
  return null;
}

/** True when `collectLocalStorageData` sends the key. */
export function isMigratableKey(key, exclude = DEFAULT_EXCLUDE) {
  return exclusionReason(key, exclude) === null;
}

/** Every key of a Storage (or of a Storage-like object with length/key()). */
export function storageKeys(storage) {
  if (storage && typeof storage.key === "function" && typeof storage.length === "number") {
    const keys = [];
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (k !== null) keys.push(k);
    }
    return keys;
  }
  return Object.keys(storage || {});
}

/**
 * What a browser would send, and what it keeps back with the reason: nothing is left out silently. `data` has a
 * null prototype: any key name is data.
 * @returns {{data: Record<string, string>, excluded: {key: string, reason: string}[]}}
 */
export function collectStorage(storage, exclude) {
  const data = Object.create(null);
  const excluded = [];
  for (const key of storageKeys(storage)) {
    const reason = exclusionReason(key, exclude);
    if (reason !== null) {
      excluded.push({ key, reason });
      continue;
    }
    const value = storage.getItem(key);
    if (value !== null) data[key] = value;
  }
  return { data, excluded };
}
