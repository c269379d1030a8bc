// @vercel/cosmosdb-server with two of its deviations from Cosmos DB corrected, so the app's adapter can use
// Cosmos as Cosmos works. Each is listed in the README ("What was not run against a real server").
// Usage: node cosmos_standin.js PORT  (HTTPS on 127.0.0.1, keep-alive on).
"use strict";
const NOT_FOUND = { code: "NotFound", message: "Entity with the specified id does not exist in the system." };

// 1. A point read of a missing id throws inside the stand-in (500); Cosmos answers 404. Patched before the
//    package loads its route table, which captures the handler.
const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");
const originalRead = readDocument.default;
readDocument.default = (account, req, res, params) => {
  try {
    return originalRead(account, req, res, params);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // only the missing-document dereference
    res.statusCode = 404;
    return NOT_FOUND;
  }
};

// 2. The stand-in lower-cases a conditional patch's whole filter predicate, so a camelCase field never
//    matches. Evaluate the predicate as written, against the addressed document only, then patch without it.
const patchOps = require("@vercel/cosmosdb-server/lib/handler/_patch-operations");
const { parsePartitionKey } = require("@vercel/cosmosdb-server/lib/utils/get-partition-from-header");
const originalPatch = patchOps.patchOperation;
patchOps.patchOperation = (collection, input) => {
  const where = /^\s*from\s+c\s+where\s+([\s\S]+)$/i.exec(input.condition || "");
  if (!where) return originalPatch(collection, input);
  const data = collection.document(input.id, parsePartitionKey(input.partitionKey, input.id)).read();
  if (!data) return { statusCode: 404, body: NOT_FOUND };
  const matched = collection.documents.query({
    query: `SELECT * FROM c WHERE c.id = @id AND c._rid = @rid AND (${where[1]})`,
    parameters: [{ name: "@id", value: input.id }, { name: "@rid", value: data._rid }],
  }, {}).result;
  if (matched.length === 0) {
    return { statusCode: 412, body: { code: "PreconditionFailed",
                                      message: "Condition specified in the patch request is not satisfied." } };
  }
  return originalPatch(collection, { ...input, condition: undefined });
};

require("@vercel/cosmosdb-server").createHttpsServer({ keepAlive: true }).listen(Number(process.argv[2]), "127.0.0.1");
