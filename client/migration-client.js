// Browser client for the localStorage → database migration API.
//
// An ES module with no build step and no dependencies. It keeps the seed's frontend contract
// (MigrationOrchestrator.checkMigrationNeeded / collectLocalStorageData / executeMigration and
// RollbackHandler.handleRollback) and fixes its flaws: nothing is marked completed unless the server says
// so, transient failures are retried with backoff, only one tab migrates at a time, and local data is
// removed only after the server's export proves it was stored.
//
//   import { createMigrationClient } from "./migration-client.js";
//   const client = createMigrationClient({ baseUrl: "http://127.0.0.1:7071/api", getToken: () => token });
//   const outcome = await client.autoMigrate();

export const LOCK_NAME = "localstorage-migration";

/** The seed's markers, written by the client into localStorage. The server ignores them. */
export const MARKERS = Object.freeze({
  completed: "migration_completed",
  date: "migration_date",
  skipped: "migration_skipped",
  fallback: "use_localstorage_fallback",
  rollbackActive: "rollback_active",
});

/** Fallback lease key (used only where the Web Locks API is missing). Never sent to the server. */
export const LEASE_KEY = "migration_lock";

const DEFAULT_RETRY = Object.freeze({ attempts: 4, baseDelayMs: 500, maxDelayMs: 10000 });
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

// --- key selection (the seed's rules) ------------------------------------------------------------------

const COLLECT_PREFIXES = ["ai_agents_", "tenant_mcp_servers_", "user_llm_configs_", "chat_session_"];
const RELEVANT_PREFIXES = ["ai_agents_", "user_llm_configs_", "tenant_mcp_servers_", "chat_session_", "theme"];
const NEVER_SENT = new Set(["auth_token"]);

/** The seed's `collectLocalStorageData` selection, minus `auth_token`. */
export function isMigratableKey(key) {
  if (NEVER_SENT.has(key)) return false;
  return COLLECT_PREFIXES.some((p) => key.startsWith(p)) || key === "theme" ||
    key.includes("_preferences_") || key.includes("_settings_") || key === "current_tenant_id";
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

/** Counts per family of a localStorage dump, computed in the browser (no server needed). */
export function summarizeLocal(data, tenant) {
  const summary = { agents: 0, llm_configs: 0, mcp_servers: 0, chat_sessions: 0, chat_messages: 0, preferences: 0 };
  const length = (v) => {
    try {
      const parsed = JSON.parse(v);
      return Array.isArray(parsed) ? parsed.length : 1;
    } catch {
      return 1;
    }
  };
  const mine = (key, prefix) => !tenant || key === prefix + tenant;
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (key.startsWith("ai_agents_")) { if (mine(key, "ai_agents_")) summary.agents += length(value); }
    else if (key.startsWith("user_llm_configs_")) { if (mine(key, "user_llm_configs_")) summary.llm_configs += length(value); }
    else if (key.startsWith("tenant_mcp_servers_")) { if (mine(key, "tenant_mcp_servers_")) summary.mcp_servers += length(value); }
    else if (key.startsWith("chat_session_")) { summary.chat_sessions += 1; summary.chat_messages += length(value); }
    else if (key === "theme" || key === "current_tenant_id" || key.includes("_preferences_") || key.includes("_settings_")) {
      summary.preferences += 1;
    }
  }
  return summary;
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

  /** `request` with retries on network errors, 429 and 502/503/504. */
  async requestWithRetry(method, path, body, onRetry) {
    const attempts = this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(method, path, body);
      } catch (error) {
        if (!MigrationClient.isTransient(error) || attempt >= attempts) throw error;
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

  /** The seed's `hasRelevantLocalStorageData`. */
  hasRelevantLocalStorageData() {
    const keys = storageKeys(this.storage);
    return RELEVANT_PREFIXES.some((p) => keys.some((k) => k.startsWith(p)));
  }

  /** The seed's rule: relevant data here and the server has not completed; status unreadable → needed. */
  async checkMigrationNeeded() {
    if (!this.hasRelevantLocalStorageData()) return false;
    try {
      const status = await this.getStatus();
      return status.migration_status !== "completed";
    } catch (error) {
      if (typeof console !== "undefined") console.warn("[Migration] Could not check migration status:", error.code || error);
      return true;
    }
  }

  /** The seed's key selection, never `auth_token`. A null-prototype object: any key name is data. */
  collectLocalStorageData() {
    const data = Object.create(null);
    for (const key of storageKeys(this.storage)) {
      if (!isMigratableKey(key)) continue;
      const value = this.storage.getItem(key);
      if (value !== null) data[key] = value;
    }
    return data;
  }

  /** Counts per family of what `collectLocalStorageData` would send, without asking the server. */
  localSummary(tenant) {
    return summarizeLocal(this.collectLocalStorageData(), tenant);
  }

  /** POST /migration/preview: the server's plan for this browser's data; nothing is written. */
  async preview() {
    const data = this.collectLocalStorageData();
    const response = await this.requestWithRetry("POST", "/migration/preview", { localStorage_data: data });
    return response.data;
  }

  /**
   * Migrate this browser's data (one tab at a time). Resolves with the server's MigrationResult (plus
   * `alreadyMigrated: false`), or with `{success: true, alreadyMigrated: true, migration_date}` when the server
   * says the migration was already completed. Rejects with MigrationError otherwise; then nothing is marked.
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
        { localStorage_data: data, backup_requested: !!backup },
        (info) => this._emit("retrying", info));
    } catch (error) {
      if (error instanceof MigrationError && error.status === 409 && error.code === "ALREADY_MIGRATED") {
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

  /** GET /migration/export: the seed's rollback package rebuilt from the database. */
  exportData() {
    return this.requestWithRetry("GET", "/migration/export");
  }

  /**
   * Remove from this browser the keys the server migrated (sent − quarantined − ignored), each only if the
   * export holds it equal and it was not changed here since it was sent. Returns the removed keys.
   */
  async cleanup({ migration = this.lastMigration } = {}) {
    if (!migration || !migration.sent || !migration.result) {
      throw new MigrationError("No migration result to clean up after", { code: "NO_MIGRATION_RESULT", retryable: false });
    }
    const { sent, result } = migration;
    const notMigrated = new Set([...(result.quarantined || []), ...(result.ignored || [])].map((i) => i.key));
    const candidates = Object.keys(sent).filter((k) => !notMigrated.has(k));
    const pkg = await this.exportData();
    const exported = pkg && pkg.rollback_data && typeof pkg.rollback_data === "object" ? pkg.rollback_data : {};
    if (result.migration_id && pkg.migration_id && pkg.migration_id !== result.migration_id) {
      throw new MigrationError("The export belongs to another migration", { code: "EXPORT_MISMATCH", retryable: false });
    }
    const removed = [];
    for (const key of candidates) {
      if (!hasOwn(exported, key)) continue;
      const local = this.storage.getItem(key);
      if (local !== sent[key]) continue; // changed in this browser since it was sent: keep it
      if (!sameValue(local, exported[key])) continue;
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
   * `migrated`, `already_migrated`. `confirm(info)` (optional) asks the user first.
   * @param {{backup?: boolean, confirm?: (info: {status: any}) => boolean | Promise<boolean>, ignoreSkipped?: boolean}} [options]
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
    if (status && status.migration_status === "completed") {
      if (this.storage.getItem(MARKERS.completed) !== "true") this._markCompleted(status.completed_at || new Date(this.now()).toISOString());
      return { action: "not_needed", status };
    }
    if (status && status.migration_enabled === false) return { action: "disabled", status };
    if (!ignoreSkipped && this.storage.getItem(MARKERS.skipped) === "true") return { action: "skipped", status };
    if (typeof confirm === "function" && !(await confirm({ status }))) return { action: "declined", status };
    const result = await this.executeMigration({ backup });
    return { action: result.alreadyMigrated ? "already_migrated" : "migrated", status, result };
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
