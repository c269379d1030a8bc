"""latency: one user's migration end to end over HTTP through the local host (a real subprocess).

For each store (embedded; the emulator stack: Cosmos stand-in + Azurite + Key Vault stand-in) and each profile
(`typical` ~0.4 MB, `heavy` ~4.7 MB) a fresh host serves one warm-up migration (reported as `cold`) and then N
migrations of distinct users, one at a time. Latency is measured by the client from sending the pre-encoded
body to the last byte of the answer. Peak RSS is the host process' VmHWM after the runs.
"""
from __future__ import annotations

import json

from ..common import Context, Host, Table, lost_keys, mark, median, ms, payload, percentile, request, size_mb

TARGETS = {("embedded", "typical"): ("p50 ≤ 100 ms", lambda p50, rss: p50 <= 100),
           ("embedded", "heavy"): ("p50 ≤ 1 s, peak RSS ≤ 300 MB", lambda p50, rss: p50 <= 1000 and rss <= 300)}


def run(ctx: Context) -> list[Table]:
    table = Table("latency: one user end to end over HTTP (local host subprocess)",
                  ["store", "profile", "payload MB", "keys", "records", "runs", "cold ms", "p50 ms", "p95 ms",
                   "max ms", "server p50 ms", "RSS idle MB", "peak RSS MB", "errors", "lost keys", "target"])
    for store in ("embedded", "emulators"):
        for profile in ("typical", "heavy"):
            runs = ctx.runs(full={"typical": 20, "heavy": 10}[profile] if store == "embedded" else
                            {"typical": 10, "heavy": 3}[profile], quick=1)
            ctx.log(f"latency: {store} {profile} x{runs}")
            table.add(*_cell(ctx, store, profile, runs))
    table.notes += [
        "`records`: the service's `migratedRecords` (agents, configs, sessions, messages, preference keys).",
        "`cold`: the first migration a fresh host serves (imports, first connections); not in p50/p95.",
        "`server p50`: the `duration_ms` the service reports (lease to completion, without HTTP parsing).",
        "Peak RSS: VmHWM of the host process after all runs of its row (one fresh host per row); "
        "`RSS idle` right after start.",
        "`emulators`: Cosmos DB stand-in (@vercel/cosmosdb-server, HTTPS loopback), Azurite, Key Vault "
        "stand-in; the local host polls Azurite for the blob trigger meanwhile. Every node server shares the "
        "2 cores with the host and the client.",
        "Lost keys: the last user's export compared with what was sent (equal string or deep-equal JSON).",
    ]
    return [table]


def _cell(ctx: Context, store: str, profile: str, runs: int) -> list:
    env = ctx.env(store, f"latency-{store}-{profile}")
    with Host(env, ctx.workdir / f"host-latency-{store}-{profile}.log") as host:
        url = host.base + "/migration/migrate-localstorage"
        data = payload(profile, quick=ctx.quick)
        body = json.dumps({"localStorage_data": data}).encode()
        status, raw, _, cold = request("POST", url, body, host.token(user="warm-up"))
        errors = int(status != 200)
        documents = None
        if status == 200:
            documents = sum(json.loads(raw)["data"]["summary"].values())
        latencies, server, result = [], [], None
        for i in range(runs):
            status, raw, _, seconds = request("POST", url, body, host.token(user=f"{profile}-{i}"))
            if status != 200:
                errors += 1
                continue
            latencies.append(ms(seconds))
            result = json.loads(raw)["data"]
            server.append(result["duration_ms"])
        lost = "-"
        if result is not None:
            last_user = host.token(user=f"{profile}-{runs - 1}")
            status, raw, _, _ = request("GET", host.base + "/migration/export", bearer=last_user)
            lost = len(lost_keys(data, result, json.loads(raw)["rollback_data"])) if status == 200 else "export failed"
        peak = host.status_mb("VmHWM")
        idle = host.rss_at_start_mb
    p50 = median(latencies)
    target = TARGETS.get((store, profile))
    verdict = "-" if target is None or ctx.quick else f"{mark(target[1](p50, peak))} {target[0]}"
    return [store, profile + (" (quick)" if ctx.quick else ""), round(size_mb(data), 2), len(data), documents or "-",
            runs, ms(cold), p50, percentile(latencies, 95), max(latencies, default=float("nan")), median(server),
            idle, peak, errors, lost, verdict]
