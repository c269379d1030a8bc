// Types for migration-client.js (an ES module; no build step).

export declare const LOCK_NAME: "localstorage-migration";
export declare const LEASE_KEY: "migration_lock";
export declare const MARKERS: Readonly<{
  completed: "migration_completed";
  date: "migration_date";
  skipped: "migration_skipped";
  id: "migration_id";
  fallback: "use_localstorage_fallback";
  rollbackActive: "rollback_active";
  /** This browser's id (a random UUID made once), sent as `browser_id`. */
  browserId: "migration_browser_id";
}>;

/** Keys kept back by default (third-party analytics/tracking). `exclude` replaces them. */
export declare const DEFAULT_EXCLUDE: Readonly<{ prefixes: readonly string[]; keys: readonly string[] }>;

export interface ExcludeOptions {
  /** A key starting with one of these is not sent. */
  prefixes?: readonly string[];
  /** Exact keys not sent. */
  keys?: readonly string[];
}

/** Why `collect()` kept a key back: a credential, the client's own key, or the `exclude` list. */
export type ExclusionReason = "auth_token" | "client_marker" | "excluded";

export interface Collected {
  /** What is sent: every key of the origin but the excluded ones (null prototype). */
  data: Record<string, string>;
  excluded: { key: string; reason: ExclusionReason }[];
}

export type MergeFamily = "agents" | "llm_configs" | "mcp_servers" | "chat_sessions" | "preferences" | "unknown";

export interface MergeCounts {
  added: number;
  unchanged: number;
  updated: number;
  conflicts: number;
}

/** A merge's accounting: items of collections, sessions or keys of the other families. */
export interface MergeSummary extends MergeCounts {
  by_family: Partial<Record<MergeFamily, MergeCounts>>;
}

export type StoredState = "new" | "unchanged" | "changed" | "conflict";

/** A preview's comparison with what is stored (null until the account has a completed migration). */
export interface StoredComparison {
  counts: Record<StoredState, number>;
  keys: { key: string; state: StoredState }[];
}

export interface BrowserEntry {
  migration_id: string;
  completed_at: string | null;
  migrated_records: number;
  manifest: ManifestCounts | null;
}

export interface ConflictCopy {
  key: string;
  /** In the form of a `rollback_data` value: `[item]`, `{"<slot>": item}`, or the whole value text. */
  value: string;
  browser_id: string;
  migration_id: string;
}

export type MigrationStatusValue = "not_started" | "in_progress" | "completed" | "failed" | "rolled_back";

export interface Summary {
  agents: number;
  llm_configs: number;
  mcp_servers: number;
  chat_sessions: number;
  chat_messages: number;
  preferences: number;
}

export interface ManifestCounts {
  /** received == migrated + quarantined + ignored */
  received: number;
  migrated: number;
  quarantined: number;
  ignored: number;
}

export interface KeyReason {
  key: string;
  reason: string | null;
}

export interface BackupRef {
  path: string;
  sha256: string;
  size: number;
}

/** GET /migration/status */
export interface MigrationStatus {
  migration_status: MigrationStatusValue;
  migration_id: string | null;
  started_at: string | null;
  completed_at: string | null;
  summary: Summary | null;
  manifest?: ManifestCounts | null;
  rollback_active: boolean;
  migration_enabled: boolean;
  /** Per browser id: its last migration. */
  browsers?: Record<string, BrowserEntry>;
}

/** `data` of POST /migration/migrate-localstorage (the seed's MigrationResult plus our fields). */
export interface MigrationResult {
  success: boolean;
  status?: string;
  migratedRecords: number;
  errors: string[];
  summary: Summary;
  migration_id: string;
  manifest: ManifestCounts;
  quarantined: KeyReason[];
  ignored: KeyReason[];
  warnings: string[];
  backup: BackupRef | null;
  duration_ms: number;
  completed_at?: string | null;
  /** The browser that sent it ("default" for callers without one). */
  browser_id?: string;
  /** Null for a first migration; what a merge into a migrated account did. */
  merge?: MergeSummary | null;
}

/** `data` of POST /migration/preview: the plan, nothing written. */
export interface PreviewResult extends MigrationResult {
  dry_run: true;
  documents: number;
  secrets: number;
  stored?: StoredComparison | null;
}

/** What `executeMigration` resolves with. */
export type ExecuteResult =
  | (MigrationResult & { alreadyMigrated: false })
  /** Only from a server that does not merge, when it says none of the sent keys is unsaved. */
  | { success: true; alreadyMigrated: true; migration_date: string };

/** GET /migration/export: the seed's rollback package. */
export interface RollbackPackage {
  tenant_id: string;
  user_id?: string;
  migration_id?: string | null;
  rollback_data: Record<string, string>;
  rollback_reason: "EMERGENCY_ROLLBACK" | "USER_EXPORT" | string;
  created_at: string;
  /** Every conflict copy (the live versions are in rollback_data). */
  conflicts?: ConflictCopy[];
}

export type ProgressPhase =
  | "waiting" // another tab holds the migration lock
  | "collecting"
  | "sending"
  | "retrying"
  | "completed"
  | "failed"
  | "cleaned"
  | "rolled_back";

export interface MigrationProgressEvent {
  phase: ProgressPhase;
  /** sending: number of keys sent */
  keys?: number;
  /** sending/retrying: attempt number (1-based) and the configured total */
  attempt?: number;
  attempts?: number;
  /** retrying: how long the client waits before the attempt */
  delayMs?: number;
  error?: MigrationError;
  result?: ExecuteResult;
  alreadyMigrated?: boolean;
  removed?: number;
  kept?: number;
  restored?: number;
  lock?: string;
}

export interface RetryOptions {
  /** Total attempts including the first (default 4; 1 = no retry). */
  attempts?: number;
  /** First backoff delay (default 500 ms), doubled each retry, with jitter. */
  baseDelayMs?: number;
  /** Attempts when the server answers 409 MIGRATION_IN_PROGRESS (another browser or tab is merging into the
   * same account; default 6, up to ~15 s of waiting). */
  inProgressAttempts?: number;
  /** Cap of the backoff delay (default 10 s). A longer Retry-After is honoured up to max(maxDelayMs, 60 s);
   * beyond that the client stops and rejects with the retryable error (its `retryAfterMs` says when). */
  maxDelayMs?: number;
}

export interface StorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface LockManagerLike {
  request<T>(name: string, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
  request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown | null) => Promise<T> | T): Promise<T>;
}

export interface MigrationClientOptions {
  /** API base URL including the route prefix, e.g. "http://127.0.0.1:7071/api". */
  baseUrl: string;
  /** Returns the bearer token (called before each request, so it may refresh). */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** Default: window.localStorage */
  storage?: StorageLike;
  /** Default: window.fetch */
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Keys not sent besides credentials and the client's own keys. Default: DEFAULT_EXCLUDE. */
  exclude?: ExcludeOptions;
  onProgress?: (event: MigrationProgressEvent) => void;
  /** Default: navigator.locks; null forces the localStorage lease fallback. */
  locks?: LockManagerLike | null;
  /** Default "localstorage-migration". */
  lockName?: string;
  /** Fallback lease lifetime (default 30 s, renewed while held). */
  leaseMs?: number;
  /** Per-request timeout (default 120 s). */
  timeoutMs?: number;
  /** Reload used by `handleRollback(pkg, {reload: true})`. Default: location.reload(). */
  reload?: () => void;
  /** Test seams. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export declare class MigrationError extends Error {
  name: "MigrationError";
  /** Server `code` (e.g. ALREADY_MIGRATED, DEPENDENCY_UNAVAILABLE) or a client code: NETWORK_ERROR, TIMEOUT,
   * AUTH_REQUIRED, BAD_RESPONSE, MIGRATION_INCOMPLETE, NO_MIGRATION_RESULT,
   * INVALID_ROLLBACK_PACKAGE, HTTP_<status>. */
  code: string;
  /** HTTP status, 0 when no answer was received. */
  status: number;
  /** Trying again later may succeed. */
  retryable: boolean;
  retryAfterMs: number | null;
  /** The server's error body, when there was one. */
  body: any;
  result?: unknown;
  constructor(message: string, info?: { code?: string; status?: number; retryable?: boolean;
    retryAfterMs?: number | null; body?: any; result?: unknown; cause?: unknown });
}

export interface LastMigration {
  /** Exactly what was sent. */
  sent: Record<string, string>;
  result: MigrationResult;
}

export type AutoMigrateOutcome =
  | { action: "rollback"; status: MigrationStatus; restored: string[]; rollback_reason?: string }
  | { action: "rollback_active" | "not_needed" | "disabled" | "skipped" | "declined"; status: MigrationStatus | null;
      preview?: PreviewResult | null }
  | { action: "migrated" | "merged" | "already_migrated"; status: MigrationStatus | null; result: ExecuteResult };

export declare class MigrationClient {
  constructor(options: MigrationClientOptions);
  readonly baseUrl: string;
  lastMigration: LastMigration | null;
  /** The merge preview the last checkMigrationNeeded/autoMigrate made for a migrated account. */
  lastPreview: PreviewResult | null;

  getStatus(): Promise<MigrationStatus>;
  /** This browser's id from `migration_browser_id`, made (crypto.randomUUID) and stored on first use. */
  browserId(): string;
  /** Something here would be sent. */
  hasRelevantLocalStorageData(): boolean;
  /** Nothing to send → false; not migrated or status unreadable → true; migrated (by any browser) → true only
   * when the merge preview counts new, changed or conflicting keys (a failed preview → true). */
  checkMigrationNeeded(): Promise<boolean>;
  /** What would be sent and what is kept back, with the reason. */
  collect(): Collected;
  /** `collect().data`: every key of the origin but credentials, the client's keys and `exclude`. */
  collectLocalStorageData(): Record<string, string>;
  /** POST /migration/preview with `merge: true` and `browser_id`; nothing is written. */
  preview(): Promise<PreviewResult>;
  /** Sends `merge: true` and `browser_id`. Marks `migration_completed` only when the server said success (or,
   * from a server that does not merge, 409 ALREADY_MIGRATED with no unsaved key; with `unsaved_keys > 0` it
   * rejects with ALREADY_MIGRATED and marks nothing). */
  executeMigration(options?: { backup?: boolean }): Promise<ExecuteResult>;
  exportData(): Promise<RollbackPackage>;
  /** Removes the migrated keys whose every item the export holds (live or as a conflict copy); returns them. */
  cleanup(options?: { migration?: LastMigration }): Promise<string[]>;
  /** The seed's RollbackHandler (no reload unless `reload: true`). */
  handleRollback(pkg: RollbackPackage, options?: { reload?: boolean; clearApiCache?: () => unknown }): Promise<{ restored: string[] }>;
  autoMigrate(options?: { backup?: boolean;
    confirm?: (info: { status: MigrationStatus | null; preview: PreviewResult | null }) => boolean | Promise<boolean>;
    ignoreSkipped?: boolean }): Promise<AutoMigrateOutcome>;
  /** Sets `migration_skipped` = "true" (the seed's skip). */
  skip(): void;
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  request(method: string, path: string, body?: unknown): Promise<any>;
  requestWithRetry(method: string, path: string, body?: unknown, onRetry?: (info: MigrationProgressEvent) => void): Promise<any>;
  backoffDelay(retryNumber: number, retryAfterMs?: number | null): number;
  static isTransient(error: unknown): boolean;
  /** new + changed + conflict of a preview's `stored` (0 when null). */
  static pendingKeys(preview: PreviewResult | null | undefined): number;
}

export declare function createMigrationClient(options: MigrationClientOptions): MigrationClient;
export default createMigrationClient;

export declare function exclusionReason(key: string, exclude?: ExcludeOptions): ExclusionReason | null;
export declare function isMigratableKey(key: string, exclude?: ExcludeOptions): boolean;
/** Every item of `local` is in `stored` (the key's live value, then its conflict copies). */
export declare function isFullyStored(local: string, stored: string[]): boolean;
export declare function storageKeys(storage: StorageLike | Record<string, string>): string[];
export declare function sameValue(original: string, exported: string): boolean;
export declare function parseRetryAfter(header: string | null | undefined, body?: any, now?: number): number | null;
