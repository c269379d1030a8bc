// One request to the API, and retries with backoff. The functions take the MigrationClient whose settings
// (base URL, token, fetch, retry policy, clock) they use, and call its `request` / `backoffDelay` methods, so a
// subclass or a test that replaces one of them is honoured.

import { MigrationError, RETRYABLE_CODES } from "./errors.js";

// A 409 MIGRATION_IN_PROGRESS is another browser (or tab) merging into the same account: it lasts seconds, so it
// gets more attempts (up to ~15 s of waiting) than a failing server does.
export const DEFAULT_RETRY = Object.freeze({ attempts: 4, inProgressAttempts: 6, baseDelayMs: 500, maxDelayMs: 10000 });
const MAX_RETRY_AFTER_MS = 60000;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

export const defaultSleep = (ms, signal) => new Promise((resolve, reject) => {
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

async function bearerToken(client) {
  try {
    const t = await client.getToken();
    if (!t) throw new Error("empty token");
    return t;
  } catch (cause) {
    throw new MigrationError("No access token available", { code: "AUTH_REQUIRED", status: 401, retryable: false, cause });
  }
}

/** One request; non-2xx answers become MigrationError with the server's `code`. */
export async function sendRequest(client, method, path, body) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${await bearerToken(client)}` };
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  let timedOut = false;
  const timer = controller && client.timeoutMs > 0
    ? setTimeout(() => { timedOut = true; controller.abort(); }, client.timeoutMs) : null;
  if (controller) init.signal = controller.signal;
  let response, text;
  try {
    response = await client.fetch(client.baseUrl + path, init);
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
  const retryAfterMs = parseRetryAfter(response.headers?.get?.("Retry-After"), data, client.now());
  throw new MigrationError(message, { code, status, retryable, retryAfterMs, body: data });
}

/** Delay before retry number `n` (1-based): exponential backoff with jitter, at least Retry-After. */
export function retryDelay({ baseDelayMs, maxDelayMs }, random, n, retryAfterMs) {
  const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.round(Math.max(retryAfterMs ?? 0, jittered));
}

/** A failure of the network or of the server's capacity (not of this request). */
export function isTransientFailure(error) {
  return error instanceof MigrationError &&
    (error.code === "NETWORK_ERROR" || error.code === "TIMEOUT" || RETRY_STATUSES.has(error.status));
}

/** `client.request` with retries on network errors, 429, 502/503/504 and 409 MIGRATION_IN_PROGRESS. */
export async function retryingRequest(client, method, path, body, onRetry) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.request(method, path, body);
    } catch (error) {
      const busy = error instanceof MigrationError && error.code === "MIGRATION_IN_PROGRESS";
      const attempts = busy ? client.retry.inProgressAttempts : client.retry.attempts;
      if (!(busy || isTransientFailure(error)) || attempt >= attempts) throw error;
      // A server asking for a longer pause than we would wait: surface the (retryable) error instead.
      if ((error.retryAfterMs ?? 0) > Math.max(client.retry.maxDelayMs, MAX_RETRY_AFTER_MS)) throw error;
      const delayMs = client.backoffDelay(attempt, error.retryAfterMs);
      onRetry?.({ attempt: attempt + 1, attempts, delayMs, error });
      await client.sleep(delayMs);
    }
  }
}
