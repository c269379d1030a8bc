"""The local secret store's own upgrade path: a store file from before versions keeps every value."""
from __future__ import annotations

import sqlite3

from cryptography.fernet import Fernet

from shared.local_secrets import LocalSecretStore


async def test_a_store_from_before_versions_keeps_its_values(tmp_path):
    key = Fernet.generate_key()
    path = tmp_path / "secrets.sqlite3"
    with sqlite3.connect(path) as c:  # the earlier schema: one row per name, a version count
        c.execute("CREATE TABLE secrets (name TEXT PRIMARY KEY, token BLOB NOT NULL, versions INTEGER NOT NULL,"
                  " tags TEXT)")
        c.execute("INSERT INTO secrets VALUES (?,?,?,?)", ("ls-old", Fernet(key).encrypt(b"sk-old"), 3, ""))
    store = LocalSecretStore(path, key)
    try:
        assert await store.get("ls-old") == "sk-old"
        kept = await store.set("ls-old", "sk-old")
        assert not kept.created and await store.get("ls-old", kept.version) == "sk-old"
        assert (await store.set("ls-old", "sk-new")).created and await store.get("ls-old", kept.version) == "sk-old"
    finally:
        await store.close()
    store = LocalSecretStore(path, key)  # reopening: the upgrade ran once, nothing doubled
    try:
        assert await store.get("ls-old") == "sk-new" and await store.versions("ls-old") == 2
    finally:
        await store.close()
