"""One SQLite connection on one dedicated thread, for the embedded adapters.

SQLite connections are not shareable across threads, and a single worker serialises every statement, which
makes read-compare-write steps (etag checks, counters, unchanged secrets) atomic without extra locks.
"""
from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

from .ports import DependencyUnavailable

T = TypeVar("T")


class SqliteOnThread:
    schema = ""          # executed once per connection
    label = "embedded store"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{self.path.stem}")
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(self.schema)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return fn(self._connect())
            except sqlite3.OperationalError as e:  # locked, disk full, I/O error: retryable from outside
                raise DependencyUnavailable(f"{self.label} unavailable: {e.__class__.__name__}") from e
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def health(self) -> None:
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        def q() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        await asyncio.get_running_loop().run_in_executor(self._pool, q)
        self._pool.shutdown(wait=False)
