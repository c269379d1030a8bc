"""sweep: the timer sweep's cost versus the number of users and the number of chat messages per user.

For each (K users, M messages per user) a fresh embedded store is seeded by real migrations (in-process):
each user has the `typical` profile's configs and preferences and 10 chat sessions holding M messages in all
(so only the message count changes along M). Then `OpsService.sweep()` runs twice in-process with a counting
wrapper around each port: the first sweep validates every migration (all are new since the checkpoint), the
second only the random sample of older ones (SWEEP_SAMPLE_SIZE, default 20). Reported: wall time, store calls,
documents read (read/list/find results; counts are not reads), vault reads and backup bytes read.
"""
from __future__ import annotations

import asyncio
import json
import time

from migration import app_services
from shared.composition import Ports
from tests.helpers import dev_env, settings_from

from ..common import Context, Counting, Table, mark, ms, payload

GRID = ((10, 100), (10, 1_000), (10, 5_000), (50, 100), (50, 1_000), (50, 5_000))
QUICK_GRID = ((2, 20), (2, 200), (4, 20))
SESSIONS = 10


def user_payload(user: str, seed: int, messages: int) -> dict[str, str]:
    base = payload("typical", user=user, seed=seed)
    out = {k: v for k, v in base.items() if not k.startswith("chat_session_")}
    pool = [m for k, v in base.items() if k.startswith("chat_session_") for m in json.loads(v)]
    per = [messages // SESSIONS + (1 if i < messages % SESSIONS else 0) for i in range(SESSIONS)]
    n = 0
    for s, count in enumerate(per):
        msgs = []
        for _ in range(count):
            m = dict(pool[n % len(pool)], id=f"msg-{n}")
            msgs.append(m)
            n += 1
        out[f"chat_session_bench{s:02d}"] = json.dumps(msgs)
    return out


def run(ctx: Context) -> list[Table]:
    table = Table("sweep: timer sweep cost vs users (K) and messages per user (M), embedded store, in-process",
                  ["K users", "M msgs/user", "documents in store", "sweep 1 ms", "sweep 1 calls",
                   "sweep 1 docs read", "docs read / user", "vault reads", "backup MB read", "backup read ms",
                   "count ms", "sweep 2 ms",
                   "sweep 2 docs read", "issues"])
    rows = []
    for users, messages in (QUICK_GRID if ctx.quick else GRID):
        ctx.log(f"sweep: K={users} M={messages}")
        row = asyncio.run(_cell(ctx, users, messages))
        rows.append((users, messages, row))
        table.add(*row)
    flat = {}
    for users, _messages, row in rows:
        flat.setdefault(users, set()).add(row[5])
    verdict = all(len(v) == 1 for v in flat.values())
    table.notes += [
        f"{mark(verdict) if not ctx.quick else ''} Target: cost flat in message count — documents read by "
        f"sweep 1 for a given K are {'identical' if verdict else 'NOT identical'} across M.",
        "Sweep 1: every migration is new since the checkpoint (validated in full); sweep 2: only the random "
        "sample of older migrations. Messages and chunks are counted (COUNT per type), never read.",
        "`backup MB read`: new migrations are checked from the blob's size (properties) and the hash the blob "
        "function recorded when it landed, so sweep 1 downloads nothing; the random sample of older "
        "migrations in sweep 2 is downloaded and hashed again (its bytes grow with the payload).",
        "Wall time still grows a little with M: the embedded store's COUNT walks the user's rows (on Cosmos "
        "DB a COUNT is an index query whose RU also grow with the number of matching documents).",
    ]
    return [table]


async def _cell(ctx: Context, users: int, messages: int) -> list:
    settings = settings_from(dev_env(ctx.tmp(f"sweep-{users}-{messages}") / "data"))
    services = app_services.build(settings)
    try:
        for i in range(users):
            result = await services.migration.migrate("contoso", f"sweep-{i}", user_payload(f"sweep-{i}", i,
                                                                                          messages))
            # What the blob trigger does when the backup lands (in Azure: Event Grid; locally: the host).
            path = result["backup"]["path"].split("/", 1)[1]
            await services.migration.record_backup(path, await services.ports.backups.read(path))
        total = await services.ports.documents._run(  # noqa: SLF001 - a benchmark may look inside
            lambda c: c.execute("SELECT COUNT(*) FROM docs").fetchone()[0])
        counted = Ports(*(Counting(p) for p in (services.ports.documents, services.ports.secrets,
                                                 services.ports.backups)))
        services.ops.ports = counted
        started = time.perf_counter()
        first = await services.ops.sweep()
        first_s = time.perf_counter() - started
        docs, secrets, backups = counted.documents, counted.secrets, counted.backups
        first_calls, first_docs = docs.total_calls, docs.documents_read
        vault_reads, backup_bytes = secrets.calls.get("get", 0), backups.bytes_read
        backup_s, count_s = backups.wall("read"), docs.wall("count")
        for c in (docs, secrets, backups):
            c.reset()
        started = time.perf_counter()
        second = await services.ops.sweep()
        second_s = time.perf_counter() - started
        issues = first["validation"]["issue_count"] + second["validation"]["issue_count"]
        assert first["validation"]["users_checked"] == users, first["validation"]
    finally:
        await services.close()
    return [users, messages, total, ms(first_s), first_calls, first_docs, round(first_docs / users, 1), vault_reads,
            round(backup_bytes / 1e6, 2), ms(backup_s), ms(count_s), ms(second_s), docs.documents_read, issues]
