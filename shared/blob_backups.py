"""BackupStore on Azure Blob Storage (async SDK): write-once blobs in one container.

- Write once: `upload_blob(overwrite=False)`. A 409 means the blob exists; if its bytes hash to the same sha256
  it is a retry of the same backup (`created=False`), otherwise `Conflict`. This also settles the ambiguous case
  where an upload was stored but its answer lost (reset): the retry finds the same bytes.
- The SDK's own retries are off (`retry_total=0`): Storage's policy ignores 429 and Retry-After and backs off
  for minutes; `shared.azure_common.with_retries` gives the bounded, Retry-After-honouring budget instead.
- Blob metadata travels as HTTP headers: names must be C# identifiers, values printable ASCII (checked here,
  ValueError, so a bad value never becomes an opaque 400 from the service).
"""
from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any, Awaitable, Callable, Mapping

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from shared.azure_common import RetryPolicy, identity_credential, scrubbed, with_retries
from shared.ports import BackupInfo, Conflict

_META_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_META_VALUE = re.compile(r"^[\x20-\x7e]*$")


class BlobBackupStore:
    def __init__(self, service: BlobServiceClient, container: str, *, retry: RetryPolicy = RetryPolicy(),
                 credential: Any = None):
        self._service = service
        self._container: ContainerClient = service.get_container_client(container)
        self._retry = retry
        self._credential = credential
        self._ready = False
        self._ensure_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings, *, retry: RetryPolicy | None = None) -> "BlobBackupStore":
        options: dict[str, Any] = {"retry_total": 0}  # see module docstring: one retry loop, ours
        credential = None
        if settings.backup_connection:  # emulators only: UseDevelopmentStorage=true or a full string
            service = BlobServiceClient.from_connection_string(settings.backup_connection, **options)
        elif settings.backup_service_uri:
            credential = identity_credential(settings.backup_client_id, settings.backup_credential)
            service = BlobServiceClient(settings.backup_service_uri, credential=credential, **options)
        else:
            raise ValueError("Blob backups need BACKUP_STORAGE (emulator) or BACKUP_STORAGE__blobServiceUri")
        return cls(service, settings.backup_container, retry=retry or RetryPolicy(), credential=credential)

    async def _call(self, what: str, op):
        return await with_retries(f"blob {what}", op, self._retry)

    async def _ensure(self) -> ContainerClient:
        if not self._ready:
            async with self._ensure_lock:
                if not self._ready:
                    async def ensure() -> None:
                        try:  # a read first: works even where the identity may not create containers
                            await self._container.get_container_properties()
                        except ResourceNotFoundError:
                            try:
                                await self._container.create_container()
                            except ResourceExistsError:
                                pass  # another instance won the race
                    try:
                        await self._call("ensure container", ensure)
                    except HttpResponseError as e:
                        raise scrubbed(e, "blob ensure container") from None
                    self._ready = True
        return self._container

    @staticmethod
    def _check(path: str, metadata: Mapping[str, str] | None = None) -> None:
        if not path or len(path) > 1024 or path.startswith("/") or ".." in path.split("/"):
            raise ValueError("backup path must be a relative blob name of at most 1024 chars")
        for name, value in (metadata or {}).items():
            if not _META_NAME.match(name):
                raise ValueError(f"blob metadata name {name!r} must be a C# identifier")
            if not isinstance(value, str) or not _META_VALUE.match(value):
                raise ValueError(f"blob metadata value of {name!r} must be printable ASCII")

    async def write(self, path: str, data: bytes, metadata: Mapping[str, str]) -> BackupInfo:
        self._check(path, metadata)
        digest = hashlib.sha256(data).hexdigest()
        blob = (await self._ensure()).get_blob_client(path)
        content_type = "application/json" if path.endswith(".json") else "application/octet-stream"
        try:
            await self._call("write", lambda: blob.upload_blob(
                data, overwrite=False, metadata=dict(metadata),
                content_settings=ContentSettings(content_type=content_type)))
            return BackupInfo(path=path, size=len(data), sha256=digest, created=True)
        except ResourceExistsError:
            existing = await self.read(path)
            if existing is not None and hashlib.sha256(existing).hexdigest() == digest:
                return BackupInfo(path=path, size=len(data), sha256=digest, created=False)
            raise Conflict("a different backup already exists at this path") from None
        except HttpResponseError as e:
            raise scrubbed(e, "blob write") from None

    async def read(self, path: str) -> bytes | None:
        return await self._if_exists(path, "read", _download)

    async def size(self, path: str) -> int | None:
        return await self._if_exists(path, "stat", _size)

    async def _if_exists(self, path: str, op: str, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """One blob call with retries; None when the blob does not exist."""
        self._check(path)
        blob = (await self._ensure()).get_blob_client(path)
        try:
            return await self._call(op, lambda: fn(blob))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as e:
            raise scrubbed(e, f"blob {op}") from None

    async def list(self, prefix: str = "") -> list[str]:
        container = await self._ensure()

        async def names() -> list[str]:
            return [b.name async for b in container.list_blobs(name_starts_with=prefix or None)]
        try:
            return await self._call("list", names)
        except HttpResponseError as e:
            raise scrubbed(e, "blob list") from None

    async def delete(self, path: str) -> bool:
        """Deletes the blob (and its snapshots). With blob soft delete on (the Bicep sets 7 days) it stays
        recoverable for that long. A retry after a lost answer finds nothing and says False."""
        async def gone(blob: Any) -> bool:
            await blob.delete_blob(delete_snapshots="include")
            return True
        return bool(await self._if_exists(path, "delete", gone))

    async def health(self) -> None:
        container = await self._ensure()
        try:
            await self._call("health", container.get_container_properties)
        except HttpResponseError as e:
            raise scrubbed(e, "blob health") from None

    async def close(self) -> None:
        await self._service.close()
        if self._credential is not None:
            await self._credential.close()


async def _download(blob: Any) -> bytes:
    return await (await blob.download_blob()).readall()


async def _size(blob: Any) -> int:
    return (await blob.get_blob_properties()).size
