"""Local backup store: files under LOCAL_DATA_DIR/backups, the local default. Not for Azure.

Write-once like the blob adapter (overwrite=False); files appear atomically (write + rename), so the local
host's blob-trigger watcher never reads a half-written backup.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

from .ports import BackupInfo, Conflict, DependencyUnavailable


class LocalBackupStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings) -> "LocalBackupStore":
        return cls(settings.local_data_dir / settings.backup_container)

    def _file(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if self.root.resolve() not in target.parents:
            raise ValueError("backup path escapes the backup folder")
        return target

    async def write(self, path: str, data: bytes, metadata: Mapping[str, str]) -> BackupInfo:
        return await asyncio.to_thread(self._write, path, data, dict(metadata))

    def _write(self, path: str, data: bytes, metadata: dict) -> BackupInfo:
        target = self._file(path)
        digest = hashlib.sha256(data).hexdigest()
        try:
            if target.exists():
                if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
                    raise Conflict(f"backup {path} exists with other content")
                return BackupInfo(path, len(data), digest, created=False)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.with_name(target.name + ".meta").write_text(json.dumps(metadata))
            os.replace(tmp, target)
        except OSError as e:  # disk full, permissions: retryable from outside
            raise DependencyUnavailable(f"local backup store unavailable: {e.__class__.__name__}") from e
        return BackupInfo(path, len(data), digest, created=True)

    async def read(self, path: str) -> bytes | None:
        target = self._file(path)
        return await asyncio.to_thread(lambda: target.read_bytes() if target.exists() else None)

    async def size(self, path: str) -> int | None:
        target = self._file(path)
        return await asyncio.to_thread(lambda: target.stat().st_size if target.exists() else None)

    async def list(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            if not self.root.exists():
                return []
            return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*.json")
                          if not p.name.startswith(".") and str(p.relative_to(self.root)).startswith(prefix))
        return await asyncio.to_thread(walk)

    async def delete(self, path: str) -> bool:
        target = self._file(path)

        def remove() -> bool:
            target.with_name(target.name + ".meta").unlink(missing_ok=True)
            try:
                target.unlink()
                return True
            except FileNotFoundError:
                return False
        try:
            return await asyncio.to_thread(remove)
        except OSError as e:
            raise DependencyUnavailable(f"local backup store unavailable: {e.__class__.__name__}") from e

    async def health(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None
