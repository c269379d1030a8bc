"""The three storage ports. The service speaks only to these; each adapter lives in its own module.

Documents are plain JSON-able dicts carrying `id`, `type`, `tenantId` and `userId`; the partition is always
the pair (tenantId, userId), and writing a document whose owner fields name another partition is a
ValueError (in Cosmos the partition key is those fields). Ids are unique per partition, as in Cosmos; the
service's ids also carry a hash of the user, so they stay unique per tenant (README: stand-in deviations).
Adapters return stored documents with `_etag` set. `types=[]` selects nothing.
A lease written with create/replace carries a unique token, so an adapter that re-reads after a lost answer
can recognise its own write.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from shared.counter_updates import CounterUpdate

PartitionKey = tuple[str, str]  # (tenantId, userId)


class StoreError(Exception):
    """Base of the errors a port may raise. Messages never carry document bodies or secret values."""


class Conflict(StoreError):
    """Create of an id that exists (documents), or a backup path that holds other content."""


class PreconditionFailed(StoreError):
    """The etag given no longer matches: someone else wrote first."""


class NotFound(StoreError):
    pass


class DependencyUnavailable(StoreError):
    """A transient failure that outlived the adapter's retries; the caller may retry later (HTTP 503)."""

    def __init__(self, message: str, retry_after: float = 5.0):
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class DocumentStore(Protocol):
    async def read(self, pk: PartitionKey, doc_id: str) -> dict | None: ...

    async def create(self, pk: PartitionKey, doc: Mapping[str, Any]) -> dict:
        """Insert; raises Conflict if the id exists."""

    async def replace(self, pk: PartitionKey, doc: Mapping[str, Any], etag: str) -> dict:
        """Replace only if the stored etag equals `etag`; raises PreconditionFailed or NotFound."""

    async def write_set(self, pk: PartitionKey, upserts: Sequence[Mapping[str, Any]],
                        deletes: Sequence[str] = ()) -> None:
        """Upsert and delete documents of one partition (idempotent; embedded: one transaction)."""

    async def list_partition(self, pk: PartitionKey, types: Sequence[str] | None = None) -> list[dict]: ...

    async def list_ids(self, pk: PartitionKey, types: Sequence[str]) -> list[str]: ...

    async def find(self, doc_type: str, *, tenant_id: str | None = None,
                   where: Mapping[str, Any] | None = None, greater_than: tuple[str, Any] | None = None,
                   order_by: str | None = None, limit: int | None = None) -> list[dict]:
        """Documents of one type across partitions (optionally one tenant): equality filters and one `>`
        filter on top-level fields, ascending order, a limit. Used by ops and the timer on small
        per-user documents only, never on chat data."""

    async def count(self, pk: PartitionKey, types: Sequence[str]) -> dict[str, int]:
        """Number of documents per type in one partition, without reading them."""

    async def increment(self, pk: PartitionKey, updates: Sequence[CounterUpdate]) -> None:
        """Apply every update, all or nothing: add each one's `deltas` to top-level numeric fields of its
        document (missing fields start at 0), creating the document from its `base` if it does not exist.
        One document per update (counter_updates.checked); exactly once, also when a lost answer is re-sent.
        For counters: no read-modify-write races, and never half of a completion counted."""

    async def health(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class SecretVersion:
    version: str   # opaque id of the version now current (Key Vault's version id)
    created: bool  # False when the value was unchanged and no new version was written


@runtime_checkable
class SecretStore(Protocol):
    """Secrets are versioned as in Key Vault: every changed value is a new version, older versions stay
    readable by id. Delete is soft: the name then reads as missing (every version too) until a later `set`
    recovers it; the vault purges it after its retention."""

    async def set(self, name: str, value: str, tags: Mapping[str, str] | None = None) -> SecretVersion:
        """Store `value` under `name` (recovering a soft-deleted name first); writes no new version if the
        value is unchanged (tags alone do not count). Names are [0-9a-zA-Z-]{1,127}; values above 25 KiB
        are a ValueError."""

    async def get(self, name: str, version: str | None = None) -> str | None:
        """The current value, or the given version's; None when missing, deleted or no such version."""

    async def delete(self, name: str) -> bool:
        """Soft-delete `name`; False when there was nothing live to delete (idempotent)."""

    async def health(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class BackupInfo:
    path: str
    size: int
    sha256: str
    created: bool  # False when the same content was already there (a retry)


@runtime_checkable
class BackupStore(Protocol):
    async def write(self, path: str, data: bytes, metadata: Mapping[str, str]) -> BackupInfo:
        """Write once: never overwrites. Same content already there → created=False; other content → Conflict."""

    async def read(self, path: str) -> bytes | None: ...

    async def size(self, path: str) -> int | None:
        """The blob's size from its properties (no download), or None when it does not exist."""

    async def list(self, prefix: str = "") -> list[str]: ...

    async def delete(self, path: str) -> bool:
        """Remove the backup; False when it did not exist (idempotent)."""

    async def health(self) -> None: ...

    async def close(self) -> None: ...
