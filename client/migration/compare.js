// Is a local value stored? Structural comparison of localStorage texts with what the export holds; the key
// families stay the server's business.

export const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

/** Same string, or JSON texts that parse deep-equal (the server's zero-loss promise for one key). */
export function sameValue(original, exported) {
  if (original === exported) return true;
  if (typeof original !== "string" || typeof exported !== "string") return false;
  let a, b;
  try {
    a = JSON.parse(original);
    b = JSON.parse(exported);
  } catch {
    return false;
  }
  return deepEqual(a, b);
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
  return true;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Each of `items` deep-equals a distinct element of `pool` (a multiset inclusion). */
function containsAll(items, pool) {
  const left = [...pool];
  for (const item of items) {
    const i = left.findIndex((p) => deepEqual(item, p));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

/**
 * Every item of the `local` text is stored, given the stored texts of its key (the live value first, then its
 * conflict copies): the same text or deep-equal JSON as a whole; else, item by item, each element of a JSON array
 * among the live array's elements and the one-item conflict copies (`[item]`), or each field of a JSON object
 * under the same name in the live object or a one-slot copy (`{"<slot>": item}`): equal, or, for an array (a
 * session's messages), contained. A key absent from the export is never fully stored, even when empty.
 * Structural only: the key families stay the server's business.
 * @param {string} local
 * @param {string[]} stored
 */
export function isFullyStored(local, stored) {
  if (stored.length === 0) return false;
  if (stored.some((s) => sameValue(local, s))) return true;
  const value = parseJson(local);
  if (value === undefined || value === null || typeof value !== "object") return false;
  const [live, ...copies] = stored.map(parseJson);
  if (Array.isArray(value)) {
    const pool = [live, ...copies.filter((c) => Array.isArray(c) && c.length === 1)].filter(Array.isArray).flat();
    return containsAll(value, pool);
  }
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const objects = [live, ...copies.filter((c) => isObject(c) && Object.keys(c).length === 1)].filter(isObject);
  return Object.keys(value).every((k) => {
    const here = objects.filter((o) => hasOwn(o, k)).map((o) => o[k]);
    if (here.some((s) => deepEqual(value[k], s))) return true;
    return Array.isArray(value[k]) && containsAll(value[k], here.filter(Array.isArray).flat());
  });
}
