// The seed's RollbackHandler: the server's rollback package written back into localStorage.

import { hasOwn } from "./compare.js";
import { MigrationError } from "./errors.js";
import { MARKERS } from "./markers.js";

/**
 * Write each `rollback_data` entry into the client's storage, then set `use_localstorage_fallback` and
 * `rollback_active` to "true". Reloads only with `{reload: true}`.
 * @param {{rollback_data: Record<string, string>}} rollbackPackage
 * @param {{reload?: boolean, clearApiCache?: () => unknown}} [options]
 */
export async function restoreRollbackPackage(client, rollbackPackage, { reload = false, clearApiCache } = {}) {
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
    client.storage.setItem(key, value);
    restored.push(key);
  }
  client.storage.setItem(MARKERS.fallback, "true");
  client.storage.setItem(MARKERS.rollbackActive, "true");
  client._emit("rolled_back", { restored: restored.length });
  if (reload) client.reload();
  return { restored };
}
