// The client's own keys in localStorage: never sent to the server, never removed by cleanup.

/** The seed's markers and this browser's id. */
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
