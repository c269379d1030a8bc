// Browser client for the localStorage → database migration API: the public entry. Pages, tests and apps import
// from here; the code is in ./migration/ (one module per job), re-exported unchanged.
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
//
// ./migration/: client.js (MigrationClient: the orchestration), http.js (request, retries, backoff),
// collect.js (which keys are sent), compare.js (is a local value stored), cleanup.js, rollback.js,
// lock.js (one tab at a time), ids.js (browser and lease ids), markers.js (the client's own keys), errors.js.

export { MigrationClient, createMigrationClient, createMigrationClient as default } from "./migration/client.js";
export { DEFAULT_EXCLUDE, exclusionReason, isMigratableKey, storageKeys } from "./migration/collect.js";
export { isFullyStored, sameValue } from "./migration/compare.js";
export { MigrationError } from "./migration/errors.js";
export { parseRetryAfter } from "./migration/http.js";
export { LOCK_NAME } from "./migration/lock.js";
export { LEASE_KEY, MARKERS } from "./migration/markers.js";
