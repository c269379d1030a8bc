// The migration client: the seed's MigrationOrchestrator and RollbackHandler on one object (see
// ../migration-client.js, the public entry). The orchestration (check, preview, migrate, auto-migrate) is here;
// HTTP, key selection, ids, the cross-tab lock, cleanup and rollback are in the modules beside it.

import { removeMigratedKeys } from "./cleanup.js";
import { collectStorage, DEFAULT_EXCLUDE } from "./collect.js";
import { MigrationError } from "./errors.js";
import { defaultSleep, DEFAULT_RETRY, isTransientFailure, retryDelay, retryingRequest, sendRequest } from "./http.js";
import { browserIdIn } from "./ids.js";
import { LOCK_NAME, withStorageLease, withTabLock } from "./lock.js";
import { MARKERS } from "./markers.js";
import { restoreRollbackPackage } from "./rollback.js";

export class MigrationClient {
  /** @param {import("../migration-client").MigrationClientOptions} options */
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

  /** One request; non-2xx answers become MigrationError with the server's `code`. */
  request(method, path, body) {
    return sendRequest(this, method, path, body);
  }

  /** Delay before retry number `n` (1-based): exponential backoff with jitter, at least Retry-After. */
  backoffDelay(n, retryAfterMs) {
    return retryDelay(this.retry, this.random, n, retryAfterMs);
  }

  static isTransient(error) {
    return isTransientFailure(error);
  }

  /** `request` with retries on network errors, 429, 502/503/504 and 409 MIGRATION_IN_PROGRESS. */
  requestWithRetry(method, path, body, onRetry) {
    return retryingRequest(this, method, path, body, onRetry);
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
    return browserIdIn(this.storage);
  }

  /**
   * What this browser would send, and what it keeps back with the reason (`auth_token`, `client_marker`,
   * `excluded`): nothing is left out silently. `data` has a null prototype: any key name is data.
   * @returns {{data: Record<string, string>, excluded: {key: string, reason: string}[]}}
   */
  collect() {
    return collectStorage(this.storage, this.exclude);
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
  cleanup({ migration = this.lastMigration } = {}) {
    return removeMigratedKeys(this, migration);
  }

  /**
   * The seed's RollbackHandler: write each `rollback_data` entry into localStorage, then set
   * `use_localstorage_fallback` and `rollback_active` to "true". Reloads only with `{reload: true}`.
   * @param {{rollback_data: Record<string, string>}} rollbackPackage
   * @param {{reload?: boolean, clearApiCache?: () => unknown}} [options]
   */
  handleRollback(rollbackPackage, options) {
    return restoreRollbackPackage(this, rollbackPackage, options);
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
  withMigrationLock(fn) {
    return withTabLock(this, fn);
  }

  _withLease(fn) {
    return withStorageLease(this, fn);
  }
}

/** @param {import("../migration-client").MigrationClientOptions} options */
export function createMigrationClient(options) {
  return new MigrationClient(options);
}
