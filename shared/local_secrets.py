"""Local secret store: a SQLite file of Fernet-encrypted values, the local default. Not for Azure.

The key comes from LOCAL_SECRETS_KEY or a key file created beside the store (mode 0600), so the file at
rest never holds a plaintext value. Versions and soft delete behave like Key Vault's, to keep one contract.
"""
from __future__ import annotations

import os
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Mapping

from cryptography.fernet import Fernet

from .ports import SecretVersion
from .sqlite_thread import SqliteOnThread

_ENC = ("utf-8", "surrogatepass")  # lone surrogates are valid localStorage data
_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")
_VERSION = re.compile(r"[0-9a-fA-F]{32}")


class LocalSecretStore(SqliteOnThread):
    # Every version is kept, as in Key Vault; a name's row says which is current and whether it is deleted.
    schema = ("CREATE TABLE IF NOT EXISTS secret_versions (name TEXT NOT NULL, version TEXT NOT NULL,"
              " seq INTEGER NOT NULL, token BLOB NOT NULL, tags TEXT, PRIMARY KEY (name, version));"
              "CREATE TABLE IF NOT EXISTS secret_names (name TEXT PRIMARY KEY, current TEXT NOT NULL,"
              " deleted INTEGER NOT NULL DEFAULT 0);"
              # A store from before versions (one row per name): its values become each name's first version.
              "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, token BLOB NOT NULL,"
              " versions INTEGER NOT NULL, tags TEXT);"
              "INSERT OR IGNORE INTO secret_versions SELECT name, lower(hex(randomblob(16))), versions, token, tags"
              " FROM secrets;"
              "INSERT OR IGNORE INTO secret_names SELECT name, version, 0 FROM secret_versions;"
              "DROP TABLE secrets;")
    label = "local secret store"

    def __init__(self, path: Path, key: bytes):
        super().__init__(path)
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings) -> "LocalSecretStore":
        folder = settings.local_data_dir
        key = settings.local_secrets_key.encode() if settings.local_secrets_key else _key_file(folder / "secrets.key")
        return cls(folder / "secrets.sqlite3", key)

    def _value(self, c: sqlite3.Connection, name: str, version: str) -> str | None:
        row = c.execute("SELECT token FROM secret_versions WHERE name=? AND version=?", (name, version)).fetchone()
        return self._fernet.decrypt(row[0]).decode(*_ENC) if row else None

    async def set(self, name: str, value: str, tags: Mapping[str, str] | None = None) -> SecretVersion:
        _check(name)
        if len(value.encode(*_ENC)) > 25 * 1024:
            raise ValueError("secret values are limited to 25 KiB, as in Key Vault")

        def q(c: sqlite3.Connection) -> SecretVersion:
            row = c.execute("SELECT current FROM secret_names WHERE name=?", (name,)).fetchone()
            # A soft-deleted name is recovered first (as the Key Vault adapter does), then compared.
            if row and self._value(c, name, row[0]) == value:
                c.execute("UPDATE secret_names SET deleted=0 WHERE name=?", (name,))
                return SecretVersion(row[0], created=False)
            version = uuid.uuid4().hex
            seq = c.execute("SELECT COUNT(*) FROM secret_versions WHERE name=?", (name,)).fetchone()[0] + 1
            c.execute("INSERT INTO secret_versions VALUES (?,?,?,?,?)",
                      (name, version, seq, self._fernet.encrypt(value.encode(*_ENC)),
                       ",".join(f"{k}={v}" for k, v in (tags or {}).items())))
            c.execute("INSERT OR REPLACE INTO secret_names VALUES (?,?,0)", (name, version))
            return SecretVersion(version, created=True)
        return await self._run(q)

    async def get(self, name: str, version: str | None = None) -> str | None:
        _check(name)
        if version is not None and not _VERSION.fullmatch(version):
            raise ValueError("secret versions are 32 hexadecimal characters, as in Key Vault")

        def q(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT current, deleted FROM secret_names WHERE name=?", (name,)).fetchone()
            if not row or row[1]:
                return None  # never set, or soft-deleted: hidden like Key Vault's 404
            return self._value(c, name, version or row[0])
        return await self._run(q)

    async def delete(self, name: str) -> bool:
        _check(name)
        return await self._run(lambda c: c.execute(
            "UPDATE secret_names SET deleted=1 WHERE name=? AND deleted=0", (name,)).rowcount > 0)

    async def versions(self, name: str) -> int:
        return await self._run(lambda c: c.execute(
            "SELECT COUNT(*) FROM secret_versions WHERE name=?", (name,)).fetchone()[0])


def _check(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError("secret names are [0-9a-zA-Z-]{1,127}")


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
