// Types for migration-client.js (an ES module; no build step).

export declare const LOCK_NAME: "localstorage-migration";
export declare const LEASE_KEY: "migration_lock";
export declare const MARKERS: Readonly<{
  completed: "migration_completed";
  date: "migration_date";
  skipped: "migration_skipped";
  fallback: "use_localstorage_fallback";
  rollbackActive: "rollback_active";
}>;

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
}

/** `data` of POST /migration/preview: the plan, nothing written. */
export interface PreviewResult extends MigrationResult {
  dry_run: true;
  documents: number;
  secrets: number;
}

/** What `executeMigration` resolves with. */
export type ExecuteResult =
  | (MigrationResult & { alreadyMigrated: false })
  | { success: true; alreadyMigrated: true; migration_date: string };

/** GET /migration/export: the seed's rollback package. */
export interface RollbackPackage {
  tenant_id: string;
  user_id?: string;
  migration_id?: string | null;
  rollback_data: Record<string, string>;
  rollback_reason: "EMERGENCY_ROLLBACK" | "USER_EXPORT" | string;
  created_at: string;
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
   * AUTH_REQUIRED, BAD_RESPONSE, MIGRATION_INCOMPLETE, NO_MIGRATION_RESULT, EXPORT_MISMATCH,
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
  | { action: "rollback_active" | "not_needed" | "disabled" | "skipped" | "declined"; status: MigrationStatus | null }
  | { action: "migrated" | "already_migrated"; status: MigrationStatus | null; result: ExecuteResult };

export declare class MigrationClient {
  constructor(options: MigrationClientOptions);
  readonly baseUrl: string;
  lastMigration: LastMigration | null;

  getStatus(): Promise<MigrationStatus>;
  hasRelevantLocalStorageData(): boolean;
  /** Relevant data here and server status !== "completed"; status unreadable → true (the seed's rule). */
  checkMigrationNeeded(): Promise<boolean>;
  /** The seed's key selection, never `auth_token`. A null-prototype object. */
  collectLocalStorageData(): Record<string, string>;
  localSummary(tenant?: string): Summary;
  preview(): Promise<PreviewResult>;
  /** Marks `migration_completed` only when the server said success (or 409 ALREADY_MIGRATED). */
  executeMigration(options?: { backup?: boolean }): Promise<ExecuteResult>;
  exportData(): Promise<RollbackPackage>;
  /** Removes the migrated keys the export proves equal; returns them. */
  cleanup(options?: { migration?: LastMigration }): Promise<string[]>;
  /** The seed's RollbackHandler (no reload unless `reload: true`). */
  handleRollback(pkg: RollbackPackage, options?: { reload?: boolean; clearApiCache?: () => unknown }): Promise<{ restored: string[] }>;
  autoMigrate(options?: { backup?: boolean; confirm?: (info: { status: MigrationStatus | null }) => boolean | Promise<boolean>;
    ignoreSkipped?: boolean }): Promise<AutoMigrateOutcome>;
  /** Sets `migration_skipped` = "true" (the seed's skip). */
  skip(): void;
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  request(method: string, path: string, body?: unknown): Promise<any>;
  requestWithRetry(method: string, path: string, body?: unknown, onRetry?: (info: MigrationProgressEvent) => void): Promise<any>;
  backoffDelay(retryNumber: number, retryAfterMs?: number | null): number;
  static isTransient(error: unknown): boolean;
}

export declare function createMigrationClient(options: MigrationClientOptions): MigrationClient;
export default createMigrationClient;

export declare function isMigratableKey(key: string): boolean;
export declare function storageKeys(storage: StorageLike | Record<string, string>): string[];
export declare function sameValue(original: string, exported: string): boolean;
export declare function summarizeLocal(data: Record<string, string>, tenant?: string): Summary;
export declare function parseRetryAfter(header: string | null | undefined, body?: any, now?: number): number | null;
