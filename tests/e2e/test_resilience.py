"""Resilience: the host killed with SIGKILL mid-migration, injected dependency faults at every step of one
migration, and a full / read-only embedded store. After each, a retry converges: nothing lost (the export equals
what was sent), nothing duplicated (the partition holds exactly the record's `documentCount` documents).

(a) runs the local host as a real process; (b) and (c) call the registered functions in-process
(`app_services.build` + `tests.helpers.call`) for speed. The whole file stays well under a minute.
"""
from __future__ import annotations

import contextlib
import errno
import json
import pathlib
import random
import sqlite3
import threading
import time
import urllib.error
from collections import Counter
from pathlib import Path
from typing import AsyncIterator

import pytest

from migration import app_services
from migration.domain import planner
from migration.domain.planner import DATA_TYPES
from migration.services.service import record_id

from ..helpers import DevHostProcess, call, dev_env, http, json_equal_or_same, load_fixture, settings_from, token

pytestmark = pytest.mark.e2e

SEED = 20261124
IGNORED = {"auth_token"}  # the only key of the generator's dumps that a migration ignores


def small_fixture(user: str, seed: int) -> dict[str, str]:
    return load_fixture("typical", "contoso", user, seed, sessions=2)


def assert_export_equals(exported: dict[str, str], sent: dict[str, str]) -> None:
    expected = {k: v for k, v in sent.items() if k not in IGNORED}
    assert set(exported) == set(expected)
    assert [k for k, v in expected.items() if not json_equal_or_same(v, exported[k])] == []


# --- (a) kill -9 of the host at random points ----------------------------------------------------------------

def _sqlite(env: dict, sql: str, *args) -> list:
    with sqlite3.connect(Path(env["LOCAL_DATA_DIR"]) / "documents.sqlite3") as c:
        return c.execute(sql, args).fetchall()


def _converge(host: DevHostProcess, env: dict, user: str, data: dict, deadline_s: float = 20) -> int:
    """Retry one user's migration until it is completed; returns the status of the last answer."""
    settings = settings_from(env)
    deadline = time.monotonic() + deadline_s
    while True:
        code, body, headers = http("POST", host.base + "/migration/migrate-localstorage",
                                   {"localStorage_data": data}, token(settings, user=user))
        if code == 200 or (code == 409 and body["code"] == "ALREADY_MIGRATED"):
            return code
        assert (code, body["code"]) == (409, "MIGRATION_IN_PROGRESS"), (code, body)  # the dead attempt's lease
        assert time.monotonic() < deadline, f"{user}: lease never ran out"
        time.sleep(0.25)


def test_kill_9_at_random_points_then_retries_converge(tmp_path):
    rng = random.Random(SEED)
    env = dev_env(tmp_path / "data", MIGRATION_LEASE_SECONDS="1")
    settings = settings_from(env)
    sent: dict[str, dict] = {}
    outcomes: Counter = Counter()
    for rnd in range(4):
        # More users than can finish before the latest kill (0.35 s at ~50 ms each): every round is cut.
        users = [f"r{rnd}-u{i}" for i in range(12)]
        payloads = {u: load_fixture("typical", "contoso", u, seed=rnd * 10 + i) for i, u in enumerate(users)}
        sent.update(payloads)
        host = DevHostProcess(env, tmp_path / f"host-{rnd}.log").start()
        answers: dict[str, str] = {}

        def fire(users: list[str], host: DevHostProcess, payloads: dict, answers: dict[str, str]) -> None:
            for u in users:  # one user after another until the host dies under us
                try:
                    code, _, _ = http("POST", host.base + "/migration/migrate-localstorage",
                                      {"localStorage_data": payloads[u]}, token(settings, user=u), timeout=30)
                    answers[u] = "completed" if code == 200 else f"http {code}"
                except (urllib.error.URLError, ConnectionError, OSError):
                    answers[u] = "cut"
                    return

        firing = threading.Thread(target=fire, args=(users, host, payloads, answers))
        firing.start()
        time.sleep(rng.uniform(0.03, 0.35))
        host.proc.kill()  # SIGKILL: no handler, no cleanup, no flush
        firing.join(30)
        assert host.wait_exit(10) == -9
        host.stop()
        assert all(a in ("completed", "cut") for a in answers.values()), answers
        outcomes.update(answers.get(u, "not_sent") for u in users)

        host = DevHostProcess(env, tmp_path / f"host-{rnd}-after.log").start()
        try:
            for u in users:
                _converge(host, env, u, payloads[u])
        finally:
            host.stop()
    assert outcomes["cut"] == 4, outcomes  # every kill landed while a migration was under way

    host = DevHostProcess(env, tmp_path / "host-final.log").start()
    try:
        for user, data in sent.items():
            code, package, _ = http("GET", host.base + "/migration/export", bearer=token(settings, user=user))
            assert code == 200, (user, package)
            assert_export_equals(package["rollback_data"], data)
        admin = token(settings, "ops", "admin-1", ["Migration.Admin"])
        code, sweep, _ = http("POST", host.base + "/migration/admin/sweep", bearer=admin)
        assert code == 200
        assert sweep["validation"]["issue_count"] == 0, sweep["validation"]["issues_found"][:5]
        assert sweep["validation"]["users_checked"] >= len(sent)
    finally:
        host.stop()
    for user in sent:  # no duplicates, no leftovers of a dead attempt
        record = json.loads(_sqlite(env, "SELECT body FROM docs WHERE type='migration' AND user=?", user)[0][0])
        types = ",".join("?" * len(DATA_TYPES))
        count = _sqlite(env, f"SELECT COUNT(*) FROM docs WHERE tenant='contoso' AND user=? AND type IN ({types})",
                        user, *DATA_TYPES)[0][0]
        assert record["status"] == "completed" and count == record["documentCount"], (user, record["attempt"])
    backups = [p for p in (Path(env["LOCAL_DATA_DIR"]) / "backups").rglob("*.json") if not p.name.startswith(".")]
    assert len(backups) == len(sent)  # one backup per user: a retry finds its backup already there


# --- (b) a dependency fault at every step of one migration ---------------------------------------------------

class _Counter:
    """Counts the port calls one clean migration makes, to know every step a fault can hit."""

    def __init__(self, inner, name: str, seen: dict):
        self._inner, self._name, self._seen = inner, name, seen

    def __getattr__(self, op: str):
        target = getattr(self._inner, op)
        if op.startswith("_") or not callable(target):
            return target

        async def counted(*args, **kwargs):
            self._seen[(self._name, op)] = self._seen.get((self._name, op), 0) + 1
            return await target(*args, **kwargs)
        return counted


STEPS = [("documents", "read"), ("documents", "create"), ("documents", "replace"), ("documents", "list_ids"),
         ("documents", "write_set"), ("documents", "increment"), ("secrets", "set"), ("backups", "write")]
BEFORE_LEASE = ("read", "create")  # a fault here leaves no record: the retry is the first attempt


@contextlib.asynccontextmanager
async def using(env: dict) -> AsyncIterator[app_services.Services]:
    """In-process services from these settings, installed for the registered functions, closed after."""
    services = app_services.build(settings_from(env))
    app_services.use(services)
    try:
        yield services
    finally:
        app_services.use(None)
        await services.close()


async def _verify_converged(services: app_services.Services, data: dict, user: str = "user-1") -> dict:
    settings = services.settings
    code, package, _ = await call("migration_export", bearer=token(settings, user=user))
    assert code == 200, package
    assert_export_equals(package["rollback_data"], data)
    pk = ("contoso", user)
    record = await services.ports.documents.read(pk, record_id(user))
    ids = await services.ports.documents.list_ids(pk, DATA_TYPES)
    assert record["status"] == "completed"
    assert len(ids) == len(set(ids)) == record["documentCount"]
    assert len(await services.ports.backups.list(f"contoso/{user}/")) == 1
    return record


async def test_a_fault_at_every_step_fails_cleanly_and_the_retry_converges(tmp_path):
    data = small_fixture("user-1", 1)
    seen: dict = {}
    async with using(dev_env(tmp_path / "clean")) as services:
        for name in ("documents", "secrets", "backups"):
            setattr(services.ports, name, _Counter(getattr(services.ports, name), name, seen))
        code, _, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data},
                                bearer=token(services.settings))
        assert code == 200
    assert seen[("secrets", "set")] >= 8 and seen[("documents", "write_set")] == 1

    cases = [(port, op, after) for port, op in STEPS for after in range(seen.get((port, op), 0))]
    assert len(cases) >= 17  # 17 since a completion's totals and day counters are one increment (was 18)
    failed = 0
    for port, op, after in cases:
        rule = {"port": port, "op": op, "after": after, "times": 1, "mode": "unavailable"}
        async with using(dev_env(tmp_path / f"{port}-{op}-{after}", FAULT_INJECTION=json.dumps([rule]))) as services:
            bearer = token(services.settings)
            code, body, headers = await call("migrate_localstorage", "POST", {"localStorage_data": data},
                                             bearer=bearer)
            if code != 200:
                failed += 1
                assert (code, body["code"]) == (503, "DEPENDENCY_UNAVAILABLE"), (port, op, after, body)
                assert headers["Retry-After"] == "1" and set(body) >= {"error", "code"}
                assert "injected" not in body["error"]  # the adapter's message stays in the log
                status = (await call("migration_status", bearer=bearer))[1]["migration_status"]
                assert status == ("not_started" if op in BEFORE_LEASE else "failed"), (port, op, after, status)
                code, body, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data},
                                           bearer=bearer)
                assert code == 200, (port, op, after, body)
            elif op != "increment":
                pytest.fail(f"a fault in {port}.{op} (after {after}) did not fail the migration")
            record = await _verify_converged(services, data)
            assert record["attempt"] == (1 if op in BEFORE_LEASE or op == "increment" else 2), (port, op, after)
    assert failed == len([c for c in cases if c[1] != "increment"])  # counters never fail a migration


async def test_a_fault_that_also_stops_the_failure_mark_waits_for_the_lease(tmp_path):
    """Completion and the `failed` mark both lost: the record stays in progress, a retry is refused until the
    lease runs out, then converges."""
    data = small_fixture("user-1", 2)
    rule = {"port": "documents", "op": "replace", "after": 0, "times": 2, "mode": "unavailable"}
    async with using(dev_env(tmp_path / "data", FAULT_INJECTION=json.dumps([rule]))) as services:
        bearer = token(services.settings)
        code, body, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert (code, body["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
        code, body, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert (code, body["code"]) == (409, "MIGRATION_IN_PROGRESS")
        real_clock = services.migration.clock
        services.migration.clock = lambda: real_clock() + services.settings.lease_seconds + 1
        assert (await call("migration_status", bearer=bearer))[1]["migration_status"] == "failed"
        code, body, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert code == 200, body
        await _verify_converged(services, data)


# --- (c) a full or read-only embedded store ---------------------------------------------------------------------

async def _pragma(store, sql: str) -> None:
    await store._run(lambda c: c.execute(sql).fetchall())  # noqa: SLF001 - the store's own connection


async def _limit_pages(store) -> None:
    """Disk full: the file may not grow past its current size (the documents no longer fit)."""
    await store.health()
    pages = await store._run(lambda c: c.execute("PRAGMA page_count").fetchone()[0])  # noqa: SLF001
    await _pragma(store, f"PRAGMA max_page_count = {pages}")


DISK_CASES = {
    "documents full at the write set": ("documents", _limit_pages, "PRAGMA max_page_count = 1073741823"),
    "documents read-only before the lease": ("documents", lambda s: _pragma(s, "PRAGMA query_only = 1"),
                                             "PRAGMA query_only = 0"),
    "secrets read-only": ("secrets", lambda s: _pragma(s, "PRAGMA query_only = 1"), "PRAGMA query_only = 0"),
}


@pytest.mark.parametrize("case", list(DISK_CASES))
async def test_full_or_read_only_store_answers_503_commits_nothing_and_retry_succeeds(tmp_path, case):
    port, break_it, repair = DISK_CASES[case]
    data = small_fixture("user-1", 3)
    async with using(dev_env(tmp_path / "data")) as services:
        bearer = token(services.settings)
        store = getattr(services.ports, port)
        await break_it(store)
        code, body, headers = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert (code, body["code"]) == (503, "DEPENDENCY_UNAVAILABLE"), body
        assert int(headers["Retry-After"]) >= 1
        pk = ("contoso", "user-1")
        stored = await services.ports.documents.list_ids(pk, DATA_TYPES)
        if port == "documents":
            assert stored == []  # the write set is one transaction: rolled back whole
        else:  # documents and secrets are written side by side: the write set either landed whole or not at all
            assert stored == [] or sorted(stored) == sorted(d["id"] for d in planner.plan(
                "contoso", "user-1", data).documents)
        record = await services.ports.documents.read(pk, record_id("user-1"))
        assert record is None or record["status"] == "failed"
        await _pragma(store, repair)
        code, body, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert code == 200, body
        await _verify_converged(services, data)


async def test_backup_disk_full_answers_503_and_retry_succeeds(tmp_path, monkeypatch):
    data = small_fixture("user-1", 4)
    real_write = pathlib.Path.write_bytes

    def no_space(self, content):
        raise OSError(errno.ENOSPC, "No space left on device")
    async with using(dev_env(tmp_path / "data")) as services:
        bearer = token(services.settings)
        monkeypatch.setattr(pathlib.Path, "write_bytes", no_space)
        code, body, headers = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert (code, body["code"]) == (503, "DEPENDENCY_UNAVAILABLE") and "Retry-After" in headers
        assert await services.ports.documents.list_ids(("contoso", "user-1"), DATA_TYPES) == []
        assert await services.ports.backups.list() == []
        monkeypatch.setattr(pathlib.Path, "write_bytes", real_write)
        code, body, _ = await call("migrate_localstorage", "POST", {"localStorage_data": data}, bearer=bearer)
        assert code == 200, body
        await _verify_converged(services, data)
