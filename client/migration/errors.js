// The one error type the client throws: the server's `code`, the HTTP status, and whether retrying may help.

/** Codes worth another attempt: the request may succeed later without any change on this side. */
export const RETRYABLE_CODES = new Set(["NETWORK_ERROR", "TIMEOUT", "MIGRATION_IN_PROGRESS", "DEPENDENCY_UNAVAILABLE",
  "RATE_LIMITED", "MIGRATION_ERROR", "MIGRATION_INCOMPLETE"]);

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
