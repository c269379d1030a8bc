"""scale: 1, 10, 50, 100 distinct users migrating at once against one local host (embedded store).

Each level starts all its users together (one client thread per user, released by a barrier, bodies encoded
beforehand) and measures the wall time from release to the last answer. Afterwards, untimed, every user's
export is compared with what was sent: each key not ignored must come back as the same string or deep-equal
JSON ("lost keys"). The client runs on the same 2 cores as the host.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ..common import Context, Host, Table, lost_keys, mark, median, ms, payload, percentile, request

LEVELS = (1, 10, 50, 100)
QUICK_LEVELS = (1, 4)


def run(ctx: Context) -> list[Table]:
    table = Table("scale: concurrent distinct users, one local host (embedded store), `typical` payloads",
                  ["users at once", "wall s", "migrations/s", "p50 ms", "p95 ms", "max ms", "errors",
                   "lost keys", "host peak RSS MB", "target"])
    env = ctx.env("embedded", "scale")
    with Host(env, ctx.workdir / "host-scale.log") as host:
        for level in (QUICK_LEVELS if ctx.quick else LEVELS):
            ctx.log(f"scale: {level} users")
            table.add(*_level(ctx, host, level))
    table.notes += [
        "Payloads: the `typical` generator profile with a different seed per user (quick mode: two sessions "
        "each). Errors: any answer other than 200, by status/code.",
        "Lost keys: every user's export after the level, compared key by key with what that user sent.",
        "One host process for every level (its data accumulates); peak RSS is cumulative (VmHWM).",
    ]
    return [table]


def _level(ctx: Context, host: Host, level: int) -> list:
    users = [f"scale{level}-{i}" for i in range(level)]
    data = {u: payload("typical", user=u, seed=i, quick=ctx.quick) for i, u in enumerate(users)}
    bodies = {u: json.dumps({"localStorage_data": data[u]}).encode() for u in users}
    tokens = {u: host.token(user=u) for u in users}
    url = host.base + "/migration/migrate-localstorage"
    barrier = threading.Barrier(level + 1)

    def one(user: str):
        barrier.wait()
        return user, request("POST", url, bodies[user], tokens[user], timeout=600)

    with ThreadPoolExecutor(level) as pool:
        futures = [pool.submit(one, u) for u in users]
        time.sleep(0.2)  # let every thread reach the barrier
        barrier.wait()
        started = time.perf_counter()
        answers = [f.result() for f in futures]
        wall = time.perf_counter() - started
    errors: Counter = Counter()
    latencies, results = [], {}
    for user, (status, raw, _, seconds) in answers:
        latencies.append(ms(seconds))
        if status == 200:
            results[user] = json.loads(raw)["data"]
        else:
            code = (json.loads(raw) if raw else {}).get("code", "?")
            errors[f"{status} {code}"] += 1
    lost = 0
    for user, result in results.items():
        status, raw, _, _ = request("GET", host.base + "/migration/export", bearer=tokens[user])
        if status != 200:
            lost += len(data[user])
            continue
        lost += len(lost_keys(data[user], result, json.loads(raw)["rollback_data"]))
    ok = len(results)
    rate = ok / wall
    target = "-"
    if level == 50 and not ctx.quick:
        target = f"{mark(not errors and rate >= 10)} 0 errors, ≥ 10/s"
    return [level, round(wall, 2), round(rate, 1), median(latencies), percentile(latencies, 95), max(latencies),
            sum(errors.values()) if not errors else ", ".join(f"{n}× {k}" for k, n in errors.items()),
            lost, host.status_mb("VmHWM"), target]
