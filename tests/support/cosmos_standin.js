// @vercel/cosmosdb-server with three of its deviations from Cosmos DB corrected, so the app's adapter can use
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

// 3. The stand-in's transactional batch has no Patch operation, and is not atomic: the operations before a
//    failing one stay applied. Run every operation (Patch through the corrected patch above) on the batch's
//    partition, and on the first failure restore the container as it was before the batch: Cosmos answers
//    207 with the failing operation's status and 424 for every other. The request body is read before the
//    operations run, and they run without awaiting, so no other request interleaves. The cost: a batch copies
//    the container's two maps (its items and its id index), O(documents in the container) per batch.
const batchDocuments = require("@vercel/cosmosdb-server/lib/handler/batch-documents");
const readJson = require("@vercel/cosmosdb-server/lib/json").default;
const documentOps = require("@vercel/cosmosdb-server/lib/handler/_document-operations");
const getPartitionFromHeader = require("@vercel/cosmosdb-server/lib/utils/get-partition-from-header").default;
const BATCH_OPERATIONS = {
  Create: documentOps.createOperation, Upsert: documentOps.upsertOperation, Read: documentOps.readOperation,
  Delete: documentOps.deleteOperation, Replace: documentOps.replaceOperation,
  Patch: (collection, input) => patchOps.patchOperation(collection, {
    id: input.id, partitionKey: input.partitionKey, ifMatch: input.ifMatch,
    operations: (input.resourceBody || {}).operations || [], condition: (input.resourceBody || {}).condition }),
};
batchDocuments.default = async (account, req, res, { dbId, collId }) => {
  const body = await readJson(req);
  const collection = account.database(dbId).collection(collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return {};
  }
  if (!Array.isArray(body) || body.some(op => !op || !BATCH_OPERATIONS[op.operationType])) {
    res.statusCode = 400;
    return { code: "BadRequest", message: "Invalid batch request." };
  }
  const items = collection.documents;
  const before = { data: new Map(items._data), index: new Map(items._index), ridCount: items._ridCount };
  const partitionKey = getPartitionFromHeader(req);
  const results = [];
  for (const op of body) {
    let result;
    try {
      result = BATCH_OPERATIONS[op.operationType](collection, { ...op, partitionKey: op.partitionKey || partitionKey });
    } catch (err) {
      result = { statusCode: 400, body: { code: "BadRequest", message: String(err && err.message) } };
    }
    results.push(result);
    if (result.statusCode >= 400) {
      items._data = before.data;
      items._index = before.index;
      items._ridCount = before.ridCount;
      res.statusCode = 207;
      return body.map((_, i) => ({ statusCode: i === results.length - 1 ? result.statusCode : 424,
                                   requestCharge: 0 }));
    }
  }
  return results.map(r => ({ statusCode: r.statusCode, requestCharge: 1,
                             eTag: r.body ? r.body._etag : undefined, resourceBody: r.body }));
};

require("@vercel/cosmosdb-server").createHttpsServer({ keepAlive: true }).listen(Number(process.argv[2]), "127.0.0.1");
