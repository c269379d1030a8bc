// Removing migrated data from this browser, only once the server's export proves it is stored.

import { hasOwn, isFullyStored } from "./compare.js";
import { MigrationError } from "./errors.js";

/**
 * Remove from the client's storage the keys the server migrated (sent − quarantined − ignored), each only if it
 * was not changed here since it was sent and the export holds every item of it, live (`rollback_data`) or as a
 * conflict copy (`conflicts`). Returns the removed keys.
 */
export async function removeMigratedKeys(client, migration) {
  if (!migration || !migration.sent || !migration.result) {
    throw new MigrationError("No migration result to clean up after", { code: "NO_MIGRATION_RESULT", retryable: false });
  }
  const { sent, result } = migration;
  const notMigrated = new Set([...(result.quarantined || []), ...(result.ignored || [])].map((i) => i.key));
  const candidates = Object.keys(sent).filter((k) => !notMigrated.has(k));
  const pkg = await client.exportData();
  const live = pkg && pkg.rollback_data && typeof pkg.rollback_data === "object" ? pkg.rollback_data : {};
  const copies = new Map();
  for (const c of Array.isArray(pkg?.conflicts) ? pkg.conflicts : []) {
    if (!c || typeof c.key !== "string" || typeof c.value !== "string") continue;
    if (!copies.has(c.key)) copies.set(c.key, []);
    copies.get(c.key).push(c.value);
  }
  const removed = [];
  for (const key of candidates) {
    const local = client.storage.getItem(key);
    if (local !== sent[key]) continue; // changed in this browser since it was sent: keep it
    const stored = [...(hasOwn(live, key) ? [live[key]] : []), ...(copies.get(key) || [])];
    if (!isFullyStored(local, stored)) continue;
    client.storage.removeItem(key);
    removed.push(key);
  }
  client._emit("cleaned", { removed: removed.length, kept: candidates.length - removed.length });
  return removed;
}
