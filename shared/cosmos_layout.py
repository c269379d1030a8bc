"""The Cosmos DB container layout the code relies on. infra/ must declare the same (a test compares them)."""
from __future__ import annotations

PARTITION_KEY_PATHS = ["/tenantId", "/userId"]  # hierarchical (MultiHash): one logical partition per user
PARTITION_KEY_KIND = "MultiHash"
PARTITION_KEY_VERSION = 2

# Only the small top-level fields that queries filter on are indexed. Payloads (`data`, message `content`,
# raw values, chunks) stay out of the index: they are most of the bytes and indexing them costs write RU.
INDEXED_PATHS = [
    "/type/?", "/tenantId/?", "/userId/?", "/migrationId/?", "/sourceKey/?", "/status/?",
    "/completedAt/?", "/sessionId/?", "/sequence_number/?", "/sampleKey/?", "/day/?", "/createdAt/?",
]
INDEXING_POLICY = {
    "indexingMode": "consistent",
    "automatic": True,
    "includedPaths": [{"path": p} for p in INDEXED_PATHS],
    "excludedPaths": [{"path": "/*"}, {"path": '/"_etag"/?'}],
}

# Items live forever unless they carry their own `ttl` (the counters' exactly-once receipts do); without a
# default TTL on the container, Cosmos ignores an item's `ttl`.
DEFAULT_TTL = -1

# Fixed partition components for documents that are not one user's.
TENANT_LEVEL_USER = "_tenant"        # tenant_state (rollback flag, rollout override), audit entries
PLATFORM_TENANT = "_platform"        # metrics snapshots, validation reports, sweep checkpoint
PLATFORM_USER = "_platform"
