// The ops page's one HTTP client: the browser client's `request` (timeout, error envelope → MigrationError with
// status, code and Retry-After), so the two pages cannot disagree on what an answer means.

import { MigrationClient, MigrationError } from "../migration-client.js";

export { MigrationError as ApiError };

export const TIMEOUT_MS = 30_000;

export const ROUTES = {
  metrics: "/migration/admin/metrics",
  validation: "/migration/admin/validation",
  tenants: "/migration/admin/tenants",
  sweep: "/migration/admin/sweep",
  tenant: (t) => `/migration/admin/tenants/${encodeURIComponent(t)}`,
};

// The ops page never migrates: the client gets no localStorage and no locks to touch.
const NO_STORAGE = Object.freeze({ length: 0, key: () => null, getItem: () => null });

/** `request(method, path, body)` against `api`, with the token read at each call. */
export function createApi(api, getToken) {
  const client = new MigrationClient({ baseUrl: api, getToken, timeoutMs: TIMEOUT_MS, storage: NO_STORAGE, locks: null });
  return { request: (method, path, body) => client.request(method, path, body) };
}
