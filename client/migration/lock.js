// One tab at a time: the cross-tab migration lock (Web Locks API, else a localStorage lease).

import { uniqueId } from "./ids.js";
import { LEASE_KEY } from "./markers.js";

export const LOCK_NAME = "localstorage-migration";

/** Run `fn` holding `client.lockName` through `client.locks`, else through the client's lease. */
export async function withTabLock(client, fn) {
  const locks = client.locks;
  if (locks && typeof locks.request === "function") {
    let ran = false;
    const immediate = await locks.request(client.lockName, { ifAvailable: true }, async (lock) => {
      if (!lock) return undefined;
      ran = true;
      return fn();
    });
    if (ran) return immediate;
    client._emit("waiting", { lock: client.lockName });
    return locks.request(client.lockName, () => fn());
  }
  return client._withLease(fn);
}

/** Run `fn` holding the localStorage lease `LEASE_KEY`, renewed while `fn` runs. */
export async function withStorageLease(client, fn) {
  const storage = client.storage;
  const owner = uniqueId();
  const read = () => {
    try {
      return JSON.parse(storage.getItem(LEASE_KEY) || "null");
    } catch {
      return null;
    }
  };
  const write = () => storage.setItem(LEASE_KEY, JSON.stringify({ owner, expires: client.now() + client.leaseMs }));
  let announced = false;
  for (;;) {
    const current = read();
    if (!current || current.owner === owner || !(current.expires > client.now())) {
      write();
      await client.sleep(50); // let a concurrent writer's value land, then check who won
      if (read()?.owner === owner) break;
    }
    if (!announced) {
      client._emit("waiting", { lock: LEASE_KEY });
      announced = true;
    }
    await client.sleep(250 + Math.floor(client.random() * 250));
  }
  const renew = setInterval(() => { if (read()?.owner === owner) write(); }, Math.max(1000, client.leaseMs / 3));
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    if (read()?.owner === owner) storage.removeItem(LEASE_KEY);
  }
}
