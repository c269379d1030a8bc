// Browser client for the localStorage → database migration API.
//
// An ES module with no build step and no dependencies. It keeps the seed's frontend contract
// (MigrationOrchestrator.checkMigrationNeeded / collectLocalStorageData / executeMigration and
// RollbackHandler.handleRollback) and fixes its flaws: nothing is marked completed unless the server says
// so, transient failures are retried with backoff, only one tab migrates at a time, and local data is
// removed only after the server's export proves it was stored. Every browser of a user migrates: each has
// its own id (`migration_browser_id`) and migrates as a merge, so a second browser adds what it holds.
//
//   import { createMigrationClient } from "./migration-client.js";
//   const client = createMigrationClient({ baseUrl: "http://127.0.0.1:7071/api", getToken: () => token });
//   const outcome = await client.autoMigrate();

export const LOCK_NAME = "localstorage-migration";

/** The client's own keys in localStorage (the seed's markers, this browser's id). Never sent. */
export const MARKERS = Object.freeze({
  completed: "migration_completed",
  date: "migration_date",
  skipped: "migration_skipped",
  id: "migration_id",
  fallback: "use_localstorage_fallback",
  rollbackActive: "rollback_active",
  browserId: "migration_browser_id",
});

/** Fallback lease key (used only where the Web Locks API is missing). Never sent to the server. */
export const LEASE_KEY = "migration_lock";

// A 409 MIGRATION_IN_PROGRESS is another browser (or tab) merging into the same account: it lasts seconds, so it
// gets more attempts (up to ~15 s of waiting) than a failing server does.
const DEFAULT_RETRY = Object.freeze({ attempts: 4, inProgressAttempts: 6, baseDelayMs: 500, maxDelayMs: 10000 });
const MAX_RETRY_AFTER_MS = 60000;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const RETRYABLE_CODES = new Set(["NETWORK_ERROR", "TIMEOUT", "MIGRATION_IN_PROGRESS", "DEPENDENCY_UNAVAILABLE",
  "RATE_LIMITED", "MIGRATION_ERROR", "MIGRATION_INCOMPLETE"]);
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

export class MigrationError extends Error {
  /**
   * @param {string} message
   * @param {{code?: string, status?: number, retryable?: boolean, retryAfterMs?: number|null,
   *          body?: any, result?: any, cause?: any}} [info]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = "MigrationError";
    this.code = info.code || "MIGRATION_ERROR";
    this.status = info.status ?? 0;
    this.retryable = info.retryable ?? RETRYABLE_CODES.has(this.code);
    this.retryAfterMs = info.retryAfterMs ?? null;
    this.body = info.body ?? null;
    if (info.result !== undefined) this.result = info.result;
    if (info.cause !== undefined) this.cause = info.cause;
  }
}

// --- key selection ---------------------------------------------------------------------------------------
// Every key of the origin is sent, so the server accounts for each one (unknown keys are quarantined and kept
// raw): a key the app keeps outside the plan's prefixes (`language`, `draft_<id>`) is not lost once the app stops
// reading localStorage. Only credentials, the client's own keys and an exclusion list stay here, and
// `collect()` lists them with a reason.

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

const BROWSER_ID = /^[A-Za-z0-9_-]{1,64}$/;

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

/** Same string, or JSON texts that parse deep-equal (the server's zero-loss promise for one key). */
export function sameValue(original, exported) {
  if (original === exported) return true;
  if (typeof original !== "string" || typeof exported !== "string") return false;
  let a, b;
  try {
    a = JSON.parse(original);
    b = JSON.parse(exported);
  } catch {
    return false;
  }
  return deepEqual(a, b);
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
  return true;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Each of `items` deep-equals a distinct element of `pool` (a multiset inclusion). */
function containsAll(items, pool) {
  const left = [...pool];
  for (const item of items) {
    const i = left.findIndex((p) => deepEqual(item, p));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

/**
 * Every item of the `local` text is stored, given the stored texts of its key (the live value first, then its
 * conflict copies): the same text or deep-equal JSON as a whole; else, item by item, each element of a JSON array
 * among the live array's elements and the one-item conflict copies (`[item]`), or each field of a JSON object
 * under the same name in the live object or a one-slot copy (`{"<slot>": item}`): equal, or, for an array (a
 * session's messages), contained. A key absent from the export is never fully stored, even when empty.
 * Structural only: the key families stay the server's business.
 * @param {string} local
 * @param {string[]} stored
 */
export function isFullyStored(local, stored) {
  if (stored.length === 0) return false;
  if (stored.some((s) => sameValue(local, s))) return true;
  const value = parseJson(local);
  if (value === undefined || value === null || typeof value !== "object") return false;
  const [live, ...copies] = stored.map(parseJson);
  if (Array.isArray(value)) {
    const pool = [live, ...copies.filter((c) => Array.isArray(c) && c.length === 1)].filter(Array.isArray).flat();
    return containsAll(value, pool);
  }
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const objects = [live, ...copies.filter((c) => isObject(c) && Object.keys(c).length === 1)].filter(isObject);
  return Object.keys(value).every((k) => {
    const here = objects.filter((o) => hasOwn(o, k)).map((o) => o[k]);
    if (here.some((s) => deepEqual(value[k], s))) return true;
    return Array.isArray(value[k]) && containsAll(value[k], here.filter(Array.isArray).flat());
  });
}

let idCounter = 0;

/** A lease owner id unique across tabs (and across clients of one tab). */
function uniqueId() {
  const c = typeof globalThis !== "undefined" ? globalThis.crypto : undefined;
  const random = c && typeof c.randomUUID === "function" ? c.randomUUID()
    : `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  idCounter += 1;
  return `${Date.now().toString(36)}-${idCounter}-${random}`;
}

// --- timing helpers --------------------------------------------------------------------------------------

const defaultSleep = (ms, signal) => new Promise((resolve, reject) => {
  if (signal?.aborted) return reject(signal.reason);
  const t = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
});

/** Retry-After: delta-seconds or an HTTP date; falls back to the body's `retry_after` (seconds). */
export function parseRetryAfter(header, body, now = Date.now()) {
  if (header != null && header !== "") {
    const s = String(header).trim();
    if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  if (body && typeof body.retry_after === "number" && body.retry_after >= 0) return body.retry_after * 1000;
  return null;
}

// --- the client --------------------------------------------------------------------------------------------

export class MigrationClient {
  /** @param {import("./migration-client").MigrationClientOptions} options */
  constructor(options) {
    if (!options || !options.baseUrl) throw new TypeError("createMigrationClient: baseUrl is required");
    if (typeof options.getToken !== "function") throw new TypeError("createMigrationClient: getToken must be a function");
    const g = typeof globalThis !== "undefined" ? globalThis : {};
    this.baseUrl = String(options.baseUrl).replace(/\/+$/, "");
    this.getToken = options.getToken;
    this.storage = options.storage ?? g.localStorage;
    if (!this.storage) throw new TypeError("createMigrationClient: no storage (localStorage) available");
    const f = options.fetch ?? g.fetch;
    if (typeof f !== "function") throw new TypeError("createMigrationClient: no fetch available");
    this.fetch = options.fetch ? f : f.bind(g); // window.fetch must be called on window
    this.retry = { ...DEFAULT_RETRY, ...(options.retry || {}) };
    this.retry.attempts = Math.max(1, Math.floor(this.retry.attempts));
    this.retry.inProgressAttempts = Math.max(1, Math.floor(this.retry.inProgressAttempts));
    this.exclude = {
      prefixes: [...(options.exclude?.prefixes ?? DEFAULT_EXCLUDE.prefixes)],
      keys: [...(options.exclude?.keys ?? DEFAULT_EXCLUDE.keys)],
    };
    this.onProgress = typeof options.onProgress === "function" ? options.onProgress : null;
    this.locks = options.locks !== undefined ? options.locks : (g.navigator?.locks ?? null);
    this.lockName = options.lockName || LOCK_NAME;
    this.leaseMs = options.leaseMs ?? 30000;
    this.timeoutMs = options.timeoutMs ?? 120000;
    this.sleep = options.sleep || defaultSleep;
    this.random = options.random || Math.random;
    this.now = options.now || (() => Date.now());
    this.reload = options.reload || (() => g.location?.reload());
    /** The last successful migration by this client: what was sent and what the server said. */
    this.lastMigration = null;
    /** The last merge preview `checkMigrationNeeded` / `autoMigrate` made (or null). */
    this.lastPreview = null;
  }

  // --- events ---

  _emit(phase, detail = {}) {
    if (!this.onProgress) return;
    try {
      this.onProgress({ phase, ...detail });
    } catch (e) {
      // A broken listener must not break the migration.
      if (typeof console !== "undefined") console.warn("[Migration] onProgress listener failed", e);
    }
  }

  // --- HTTP ---

  async _token() {
    try {
      const t = await this.getToken();
      if (!t) throw new Error("empty token");
      return t;
    } catch (cause) {
      throw new MigrationError("No access token available", { code: "AUTH_REQUIRED", status: 401, retryable: false, cause });
    }
  }

  /** One request; non-2xx answers become MigrationError with the server's `code`. */
  async request(method, path, body) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${await this._token()}` };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    let timedOut = false;
    const timer = controller && this.timeoutMs > 0
      ? setTimeout(() => { timedOut = true; controller.abort(); }, this.timeoutMs) : null;
    if (controller) init.signal = controller.signal;
    let response, text;
    try {
      response = await this.fetch(this.baseUrl + path, init);
      text = await response.text();
    } catch (cause) {
      if (timedOut) {
        throw new MigrationError("The server did not answer in time", { code: "TIMEOUT", retryable: true, cause });
      }
      throw new MigrationError("The server could not be reached", { code: "NETWORK_ERROR", retryable: true, cause });
    } finally {
      if (timer) clearTimeout(timer);
    }
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.ok) {
      if (data === null) {
        throw new MigrationError("The server sent an unreadable answer", { code: "BAD_RESPONSE", status: response.status, retryable: true });
      }
      return data;
    }
    const status = response.status;
    const code = (data && typeof data.code === "string" && data.code) ||
      (status === 429 ? "RATE_LIMITED" : RETRY_STATUSES.has(status) ? "DEPENDENCY_UNAVAILABLE" : `HTTP_${status}`);
    const message = (data && typeof data.error === "string" && data.error) || `Request failed with status ${status}`;
    const retryable = RETRY_STATUSES.has(status) || status >= 500 || RETRYABLE_CODES.has(code);
    const retryAfterMs = parseRetryAfter(response.headers?.get?.("Retry-After"), data, this.now());
    throw new MigrationError(message, { code, status, retryable, retryAfterMs, body: data });
  }

  /** Delay before retry number `n` (1-based): exponential backoff with jitter, at least Retry-After. */
  backoffDelay(n, retryAfterMs) {
    const { baseDelayMs, maxDelayMs } = this.retry;
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
    const jittered = exp / 2 + this.random() * (exp / 2);
    return Math.round(Math.max(retryAfterMs ?? 0, jittered));
  }

  static isTransient(error) {
    return error instanceof MigrationError &&
      (error.code === "NETWORK_ERROR" || error.code === "TIMEOUT" || RETRY_STATUSES.has(error.status));
  }

  /** `request` with retries on network errors, 429, 502/503/504 and 409 MIGRATION_IN_PROGRESS. */
  async requestWithRetry(method, path, body, onRetry) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(method, path, body);
      } catch (error) {
        const busy = error instanceof MigrationError && error.code === "MIGRATION_IN_PROGRESS";
        const attempts = busy ? this.retry.inProgressAttempts : this.retry.attempts;
        if (!(busy || MigrationClient.isTransient(error)) || attempt >= attempts) throw error;
        // A server asking for a longer pause than we would wait: surface the (retryable) error instead.
        if ((error.retryAfterMs ?? 0) > Math.max(this.retry.maxDelayMs, MAX_RETRY_AFTER_MS)) throw error;
        const delayMs = this.backoffDelay(attempt, error.retryAfterMs);
        onRetry?.({ attempt: attempt + 1, attempts, delayMs, error });
        await this.sleep(delayMs);
      }
    }
  }

  // --- the seed's orchestrator --------------------------------------------------------------------------

  /** GET /migration/status. */
  getStatus() {
    return this.requestWithRetry("GET", "/migration/status");
  }

  /**
   * This browser's id (`migration_browser_id`): a random UUID made once, sent as `browser_id` so the server can
   * tell this browser's items from another's. A value the server would refuse is replaced.
   */
  browserId() {
    const stored = this.storage.getItem(MARKERS.browserId);
    if (stored !== null && BROWSER_ID.test(stored)) return stored;
    const c = typeof globalThis !== "undefined" ? globalThis.crypto : undefined;
    const fresh = c && typeof c.randomUUID === "function" ? c.randomUUID() : uniqueId().replace(/[^A-Za-z0-9_-]/g, "").slice(0, 64);
    this.storage.setItem(MARKERS.browserId, fresh);
    // Two tabs creating one at once: the last write wins, and both use it from here on.
    const now = this.storage.getItem(MARKERS.browserId);
    return now !== null && BROWSER_ID.test(now) ? now : fresh;
  }

  /**
   * What this browser would send, and what it keeps back with the reason (`auth_token`, `client_marker`,
   * `excluded`): nothing is left out silently. `data` has a null prototype: any key name is data.
   * @returns {{data: Record<string, string>, excluded: {key: string, reason: string}[]}}
   */
  collect() {
    const data = Object.create(null);
    const excluded = [];
    for (const key of storageKeys(this.storage)) {
      const reason = exclusionReason(key, this.exclude);
      if (reason !== null) {
        excluded.push({ key, reason });
        continue;
      }
      const value = this.storage.getItem(key);
      if (value !== null) data[key] = value;
    }
    return { data, excluded };
  }

  /** The data `collect()` sends (the seed's method name and shape: a plain key → string map). */
  collectLocalStorageData() {
    return this.collect().data;
  }

  /** Something here would be sent (the seed's name; the seed looked at five prefixes only). */
  hasRelevantLocalStorageData() {
    return Object.keys(this.collectLocalStorageData()).length > 0;
  }

  _body(data, extra = {}) {
    return { localStorage_data: data, ...extra, merge: true, browser_id: this.browserId() };
  }

  /**
   * POST /migration/preview with `merge: true`: the server's plan for this browser's data, and, once the account
   * is migrated, `stored`: each key's state against what is stored (new / unchanged / changed / conflict).
   * Nothing is written.
   */
  async preview() {
    const response = await this.requestWithRetry("POST", "/migration/preview", this._body(this.collectLocalStorageData()));
    return response.data;
  }

  /** How many keys of a preview hold data the account lacks (new, changed or in conflict). */
  static pendingKeys(previewResult) {
    const counts = previewResult?.stored?.counts;
    if (!counts) return 0;
    return (counts.new || 0) + (counts.changed || 0) + (counts.conflict || 0);
  }

  /**
   * Whether to offer the migration. Nothing to send → false. Not yet migrated (or status unreadable, the seed's
   * rule) → true. Migrated (by any browser) → true only when the preview says this browser holds something the
   * account lacks; `lastPreview` keeps that answer for the modal.
   */
  async checkMigrationNeeded() {
    if (!this.hasRelevantLocalStorageData()) return false;
    let status;
    try {
      status = await this.getStatus();
    } catch (error) {
      if (typeof console !== "undefined") console.warn("[Migration] Could not check migration status:", error.code || error);
      return true;
    }
    if (status.migration_status !== "completed") return true;
    return (await this._pendingAfterCompletion()).needed;
  }

  async _pendingAfterCompletion() {
    try {
      this.lastPreview = await this.preview();
    } catch (error) {
      // Cannot tell what is stored: ask (the migration itself is a merge, so asking loses nothing).
      if (typeof console !== "undefined") console.warn("[Migration] Could not preview a merge:", error.code || error);
      this.lastPreview = null;
      return { needed: true, preview: null };
    }
    return { needed: MigrationClient.pendingKeys(this.lastPreview) > 0, preview: this.lastPreview };
  }

  /**
   * Migrate this browser's data (one tab at a time), as a merge: the first browser's is a plain migration, any
   * later one adds what the account lacks (`result.merge` counts added / unchanged / updated / conflicts).
   * Resolves with the server's MigrationResult (plus `alreadyMigrated: false`), or, from a server that does not
   * merge, with `{success: true, alreadyMigrated: true, migration_date}` when it says nothing sent is unsaved.
   * Rejects with MigrationError otherwise (`ALREADY_MIGRATED` when keys would stay unsaved); then nothing is marked.
   */
  async executeMigration({ backup = true } = {}) {
    try {
      return await this.withMigrationLock(() => this._migrate(backup));
    } catch (error) {
      const e = error instanceof MigrationError ? error
        : new MigrationError(error?.message || "Migration failed", { code: "MIGRATION_ERROR", cause: error });
      this._emit("failed", { error: e });
      throw e;
    }
  }

  async _migrate(backup) {
    this._emit("collecting");
    const data = this.collectLocalStorageData();
    const keys = Object.keys(data);
    this._emit("sending", { keys: keys.length, attempt: 1, attempts: this.retry.attempts });
    let response;
    try {
      response = await this.requestWithRetry("POST", "/migration/migrate-localstorage",
        this._body(data, { backup_requested: !!backup }), (info) => this._emit("retrying", info));
    } catch (error) {
      if (error instanceof MigrationError && error.status === 409 && error.code === "ALREADY_MIGRATED") {
        const unsaved = error.body?.unsaved_keys;
        if (typeof unsaved === "number" && unsaved > 0) {
          throw new MigrationError(`Your account was migrated from another browser; ${unsaved} key` +
            `${unsaved === 1 ? " of this browser is" : "s of this browser are"} not stored yet`, {
            code: "ALREADY_MIGRATED", status: 409, retryable: false, body: error.body });
        }
        const date = error.body?.migration_date || new Date(this.now()).toISOString();
        this._markCompleted(date);
        const result = { success: true, alreadyMigrated: true, migration_date: date };
        this._emit("completed", { result, alreadyMigrated: true });
        return result;
      }
      throw error;
    }
    const result = response && response.data;
    if (!(response && response.success === true && result && result.success === true)) {
      throw new MigrationError("The server did not complete the migration", {
        code: "MIGRATION_INCOMPLETE", status: 200, retryable: true, body: response, result });
    }
    this._markCompleted(result.completed_at || new Date(this.now()).toISOString());
    this.lastMigration = { sent: { ...data }, result };
    const out = { ...result, alreadyMigrated: false };
    this._emit("completed", { result: out, alreadyMigrated: false });
    return out;
  }

  _markCompleted(date) {
    this.storage.setItem(MARKERS.completed, "true");
    this.storage.setItem(MARKERS.date, date);
    // A migration after a lifted rollback: the app uses the API again.
    this.storage.removeItem(MARKERS.fallback);
    this.storage.removeItem(MARKERS.rollbackActive);
  }

  /** GET /migration/export: the seed's rollback package rebuilt from the database, plus `conflicts`. */
  exportData() {
    return this.requestWithRetry("GET", "/migration/export");
  }

  /**
   * Remove from this browser the keys the server migrated (sent − quarantined − ignored), each only if it was not
   * changed here since it was sent and the export holds every item of it, live (`rollback_data`) or as a conflict
   * copy (`conflicts`). Returns the removed keys.
   */
  async cleanup({ migration = this.lastMigration } = {}) {
    if (!migration || !migration.sent || !migration.result) {
      throw new MigrationError("No migration result to clean up after", { code: "NO_MIGRATION_RESULT", retryable: false });
    }
    const { sent, result } = migration;
    const notMigrated = new Set([...(result.quarantined || []), ...(result.ignored || [])].map((i) => i.key));
    const candidates = Object.keys(sent).filter((k) => !notMigrated.has(k));
    const pkg = await this.exportData();
    const live = pkg && pkg.rollback_data && typeof pkg.rollback_data === "object" ? pkg.rollback_data : {};
    const copies = new Map();
    for (const c of Array.isArray(pkg?.conflicts) ? pkg.conflicts : []) {
      if (!c || typeof c.key !== "string" || typeof c.value !== "string") continue;
      if (!copies.has(c.key)) copies.set(c.key, []);
      copies.get(c.key).push(c.value);
    }
    const removed = [];
    for (const key of candidates) {
      const local = this.storage.getItem(key);
      if (local !== sent[key]) continue; // changed in this browser since it was sent: keep it
      const stored = [...(hasOwn(live, key) ? [live[key]] : []), ...(copies.get(key) || [])];
      if (!isFullyStored(local, stored)) continue;
      this.storage.removeItem(key);
      removed.push(key);
    }
    this._emit("cleaned", { removed: removed.length, kept: candidates.length - removed.length });
    return removed;
  }

  /**
   * The seed's RollbackHandler: write each `rollback_data` entry into localStorage, then set
   * `use_localstorage_fallback` and `rollback_active` to "true". Reloads only with `{reload: true}`.
   * @param {{rollback_data: Record<string, string>}} rollbackPackage
   * @param {{reload?: boolean, clearApiCache?: () => unknown}} [options]
   */
  async handleRollback(rollbackPackage, { reload = false, clearApiCache } = {}) {
    const data = rollbackPackage && rollbackPackage.rollback_data;
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw new MigrationError("Invalid rollback package", { code: "INVALID_ROLLBACK_PACKAGE", retryable: false });
    }
    if (typeof clearApiCache === "function") await clearApiCache();
    const restored = [];
    for (const key of Object.keys(data)) { // own keys only: `__proto__` & co. are plain data here
      if (!hasOwn(data, key)) continue;
      const value = data[key];
      if (typeof value !== "string") continue;
      this.storage.setItem(key, value);
      restored.push(key);
    }
    this.storage.setItem(MARKERS.fallback, "true");
    this.storage.setItem(MARKERS.rollbackActive, "true");
    this._emit("rolled_back", { restored: restored.length });
    if (reload) this.reload();
    return { restored };
  }

  /**
   * Migrate on login. Returns `{action, ...}` with action one of: `rollback` (rollback package applied),
   * `rollback_active` (already applied here), `not_needed`, `disabled`, `skipped`, `declined`,
   * `migrated`, `merged` (the account was migrated already; this browser's data was merged into it),
   * `already_migrated`. `confirm(info)` (optional) asks the user first; for a migrated account `info.preview` says
   * what this browser would add.
   * @param {{backup?: boolean, confirm?: (info: {status: any, preview: any}) => boolean | Promise<boolean>, ignoreSkipped?: boolean}} [options]
   */
  async autoMigrate({ backup = true, confirm, ignoreSkipped = false } = {}) {
    let status = null;
    try {
      status = await this.getStatus();
    } catch (error) {
      if (!(error instanceof MigrationError) || !error.retryable) throw error;
      // The seed: status unreadable → assume migration needed (the migration itself then retries).
    }
    if (status && status.rollback_active) {
      if (this.storage.getItem(MARKERS.rollbackActive) === "true") return { action: "rollback_active", status };
      let pkg;
      try {
        pkg = await this.exportData();
      } catch (error) {
        if (!(error instanceof MigrationError && error.code === "NOT_MIGRATED")) throw error;
        pkg = { rollback_data: {} }; // nothing on the server: the local data is all there is
      }
      const { restored } = await this.handleRollback(pkg);
      return { action: "rollback", status, restored, rollback_reason: pkg.rollback_reason };
    }
    if (!this.hasRelevantLocalStorageData()) return { action: "not_needed", status };
    let preview = null;
    if (status && status.migration_status === "completed") {
      // Migrated, perhaps from another browser: offer a merge only when this browser holds what is not stored.
      const pending = await this._pendingAfterCompletion();
      if (!pending.needed) {
        if (this.storage.getItem(MARKERS.completed) !== "true") this._markCompleted(status.completed_at || new Date(this.now()).toISOString());
        return { action: "not_needed", status, preview: pending.preview };
      }
      preview = pending.preview;
    }
    if (status && status.migration_enabled === false) return { action: "disabled", status };
    if (!ignoreSkipped && this.storage.getItem(MARKERS.skipped) === "true") return { action: "skipped", status };
    if (typeof confirm === "function" && !(await confirm({ status, preview }))) return { action: "declined", status };
    const result = await this.executeMigration({ backup });
    const action = result.alreadyMigrated ? "already_migrated" : result.merge ? "merged" : "migrated";
    return { action, status, result };
  }

  /** The seed's skip: remember the user's choice. */
  skip() {
    this.storage.setItem(MARKERS.skipped, "true");
  }

  // --- one tab at a time ---------------------------------------------------------------------------------

  /** Run `fn` holding the cross-tab migration lock (Web Locks API, else a localStorage lease). */
  async withMigrationLock(fn) {
    if (this.locks && typeof this.locks.request === "function") {
      let ran = false;
      const immediate = await this.locks.request(this.lockName, { ifAvailable: true }, async (lock) => {
        if (!lock) return undefined;
        ran = true;
        return fn();
      });
      if (ran) return immediate;
      this._emit("waiting", { lock: this.lockName });
      return this.locks.request(this.lockName, () => fn());
    }
    return this._withLease(fn);
  }

  async _withLease(fn) {
    const owner = uniqueId();
    const read = () => {
      try {
        return JSON.parse(this.storage.getItem(LEASE_KEY) || "null");
      } catch {
        return null;
      }
    };
    const write = () => this.storage.setItem(LEASE_KEY, JSON.stringify({ owner, expires: this.now() + this.leaseMs }));
    let announced = false;
    for (;;) {
      const current = read();
      if (!current || current.owner === owner || !(current.expires > this.now())) {
        write();
        await this.sleep(50); // let a concurrent writer's value land, then check who won
        if (read()?.owner === owner) break;
      }
      if (!announced) {
        this._emit("waiting", { lock: LEASE_KEY });
        announced = true;
      }
      await this.sleep(250 + Math.floor(this.random() * 250));
    }
    const renew = setInterval(() => { if (read()?.owner === owner) write(); }, Math.max(1000, this.leaseMs / 3));
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      if (read()?.owner === owner) this.storage.removeItem(LEASE_KEY);
    }
  }
}

/** @param {import("./migration-client").MigrationClientOptions} options */
export function createMigrationClient(options) {
  return new MigrationClient(options);
}

export default createMigrationClient;
