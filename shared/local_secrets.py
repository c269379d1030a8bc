"""Local secret store: a SQLite file of Fernet-encrypted values, the local default. Not for Azure.

The key comes from LOCAL_SECRETS_KEY or a key file created beside the store (mode 0600), so the file at
rest never holds a plaintext value. Versions are counted like Key Vault's, to keep the same contract.
"""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Mapping

from cryptography.fernet import Fernet

from .sqlite_thread import SqliteOnThread

_ENC = ("utf-8", "surrogatepass")  # lone surrogates are valid localStorage data
_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")


class LocalSecretStore(SqliteOnThread):
    schema = ("CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, token BLOB NOT NULL,"
              " versions INTEGER NOT NULL, tags TEXT);")
    label = "local secret store"

    def __init__(self, path: Path, key: bytes):
        super().__init__(path)
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings) -> "LocalSecretStore":
        folder = settings.local_data_dir
        key = settings.local_secrets_key.encode() if settings.local_secrets_key else _key_file(folder / "secrets.key")
        return cls(folder / "secrets.sqlite3", key)

    def _current(self, c: sqlite3.Connection, name: str) -> tuple[str | None, int]:
        row = c.execute("SELECT token, versions FROM secrets WHERE name=?", (name,)).fetchone()
        if not row:
            return None, 0
        return self._fernet.decrypt(row[0]).decode(*_ENC), row[1]

    async def set(self, name: str, value: str, tags: Mapping[str, str] | None = None) -> bool:
        if not _NAME.fullmatch(name):
            raise ValueError("secret names are [0-9a-zA-Z-]{1,127}")
        if len(value.encode(*_ENC)) > 25 * 1024:
            raise ValueError("secret values are limited to 25 KiB, as in Key Vault")

        def q(c: sqlite3.Connection) -> bool:
            current, versions = self._current(c, name)
            if current == value:
                return False
            token = self._fernet.encrypt(value.encode(*_ENC))
            c.execute("INSERT OR REPLACE INTO secrets VALUES (?,?,?,?)",
                      (name, token, versions + 1, ",".join(f"{k}={v}" for k, v in (tags or {}).items())))
            return True
        return await self._run(q)

    async def get(self, name: str) -> str | None:
        return await self._run(lambda c: self._current(c, name)[0])

    async def versions(self, name: str) -> int:
        return await self._run(lambda c: self._current(c, name)[1])


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
