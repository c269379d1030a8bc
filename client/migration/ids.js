// Ids the client makes: lease owners (unique per call) and this browser's id (made once, kept in localStorage).

import { MARKERS } from "./markers.js";

const BROWSER_ID = /^[A-Za-z0-9_-]{1,64}$/;

let idCounter = 0;

/** A lease owner id unique across tabs (and across clients of one tab). */
export function uniqueId() {
  const c = typeof globalThis !== "undefined" ? globalThis.crypto : undefined;
  const random = c && typeof c.randomUUID === "function" ? c.randomUUID()
    : `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  idCounter += 1;
  return `${Date.now().toString(36)}-${idCounter}-${random}`;
}

/**
 * This browser's id (`migration_browser_id` in `storage`): a random UUID made once. A value the server would
 * refuse is replaced.
 */
export function browserIdIn(storage) {
  const stored = storage.getItem(MARKERS.browserId);
  if (stored !== null && BROWSER_ID.test(stored)) return stored;
  const c = typeof globalThis !== "undefined" ? globalThis.crypto : undefined;
  const fresh = c && typeof c.randomUUID === "function" ? c.randomUUID() : uniqueId().replace(/[^A-Za-z0-9_-]/g, "").slice(0, 64);
  storage.setItem(MARKERS.browserId, fresh);
  // Two tabs creating one at once: the last write wins, and both use it from here on.
  const now = storage.getItem(MARKERS.browserId);
  return now !== null && BROWSER_ID.test(now) ? now : fresh;
}
