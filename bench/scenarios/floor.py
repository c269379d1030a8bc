"""floor: the physical floor of one migration on this machine, and our service's time as a multiple of it.

Floor = `json.loads` of the request body + serialising the documents our plan produces (`orjson.dumps`, as any
store must) + one SQLite `executemany` of them in one transaction (WAL, synchronous=NORMAL, the embedded
store's pragmas; a plain rowid table keyed by partition and id) into a fresh file. Nothing else: no
validation, no classification, no secrets, no backup.

Ours = the registered HTTP function called in-process (`migrate_localstorage`: strict body parsing, pydantic
validation, the service with the embedded adapters, the JSON answer), i.e. everything but the socket. A second
table splits our time into phases (measured separately on the same payload) to show where the multiple goes.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from pathlib import Path

import azure.functions as func
import orjson

from migration import app_services
from migration.domain import planner
from migration.entrypoints.api_models import MigrateRequest
from migration.entrypoints.http_handlers import validate
from shared.composition import Ports
from shared.http import dumps, parse_json_body
from tests.helpers import call, dev_env, settings_from, token

from ..common import Context, Counting, Table, body_bytes, median, ms, payload, size_mb, union_seconds

# The least a document store needs: the partition and id as key, the body. A plain rowid table: for bodies of
# this size SQLite writes it about twice as fast as the embedded store's WITHOUT ROWID table (see README).
_SCHEMA = ("CREATE TABLE docs (tenant TEXT NOT NULL, user TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, "
           "etag TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, user, id))")


def floor_once(raw: bytes, documents: list[dict], folder: Path) -> dict[str, float]:
    path = folder / f"floor-{uuid.uuid4().hex[:8]}.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(_SCHEMA)
    t0 = time.perf_counter()
    json.loads(raw)
    t1 = time.perf_counter()
    rows = [(d["tenantId"], d["userId"], d["id"], d["type"], "e", orjson.dumps(d).decode()) for d in documents]
    t2 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO docs VALUES (?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    t3 = time.perf_counter()
    conn.close()
    return {"loads": t1 - t0, "dumps": t2 - t1, "insert": t3 - t2, "total": t3 - t0}


def run(ctx: Context) -> list[Table]:
    table = Table("floor: json.loads + one bulk SQLite write of the same documents, vs our migration",
                  ["profile", "payload MB", "documents", "runs", "loads ms", "orjson dumps ms", "executemany ms",
                   "floor ms", "ours ms (function)", "ours ms (service)", "× floor"])
    phases = Table("floor: where our time goes (medians, same payloads, in-process)",
                   ["profile", "parse + validate body ms", "plan ms", "lease + tenant reads ms", "backup ms",
                    "secrets ∥ documents ms", "complete + counters ms", "response JSON ms",
                    "sum ms"])
    for profile in ("typical", "heavy"):
        runs = ctx.runs(full=10 if profile == "typical" else 5)
        ctx.log(f"floor: {profile} x{runs}")
        row, phase_row = asyncio.run(_profile(ctx, profile, runs))
        table.add(*row)
        phases.add(*phase_row)
    table.notes += [
        "Floor: what any implementation must do at least (read the JSON, write the same bytes in one "
        "transaction); it skips classification, validation, secrets, the backup, the lease and the manifest.",
        "`function`: the registered HTTP function in-process (everything but the socket); `service`: "
        "`MigrationService.migrate` alone on an already parsed dict. Medians of distinct users.",
    ]
    phases.notes += ["Port phases: wall time during which a call of that kind was in flight (a timing wrapper "
                     "around each port, mean per service run; overlapping calls counted once). Secrets and "
                     "documents are written at the same time (one phase). Parse, plan and response JSON measured "
                     "alone on the same payload. The phases follow one another, so they add up to roughly "
                     "`ours ms (function)`."]
    return [table, phases]


async def _profile(ctx: Context, profile: str, runs: int) -> tuple[list, list]:
    data = payload(profile, quick=ctx.quick)
    raw = body_bytes(data)
    folder = ctx.tmp(f"floor-{profile}")
    documents = planner.plan("contoso", "floor", data).documents
    floors = [floor_once(raw, documents, folder) for _ in range(runs)]

    env_dir = ctx.tmp(f"floor-ours-{profile}")
    settings = settings_from(dev_env(env_dir / "data"))
    services = app_services.build(settings)
    timed = Ports(*(Counting(p) for p in (services.ports.documents, services.ports.secrets, services.ports.backups)))
    services.ports.documents, services.ports.secrets, services.ports.backups = \
        timed.documents, timed.secrets, timed.backups
    app_services.use(services)
    function_s, service_s = [], []
    try:
        await call("migrate_localstorage", "POST", raw=raw, bearer=token(settings, user="warm-up"))
        for i in range(runs):
            started = time.perf_counter()
            code, resp, _ = await call("migrate_localstorage", "POST", raw=raw,
                                       bearer=token(settings, user=f"fn-{i}"))
            function_s.append(time.perf_counter() - started)
            assert code == 200, resp
        for c in (timed.documents, timed.secrets, timed.backups):
            c.reset()
        for i in range(runs):
            started = time.perf_counter()
            result = await services.migration.migrate("contoso", f"svc-{i}", data)
            service_s.append(time.perf_counter() - started)
    finally:
        app_services.use(None)
        await services.close()

    # Phases measured alone.
    parse_s, plan_s, response_s = [], [], []
    req = func.HttpRequest(method="POST", url="http://localhost/api/migration/migrate-localstorage",
                           headers={"content-type": "application/json"}, params={}, body=raw)
    for _ in range(runs):
        t0 = time.perf_counter()
        validate(MigrateRequest, parse_json_body(req, max_bytes=settings.max_body_bytes,
                                                 max_depth=settings.max_json_depth))
        t1 = time.perf_counter()
        planner.plan("contoso", "phase", data, max_document_bytes=settings.max_document_bytes)
        t2 = time.perf_counter()
        dumps({"success": True, "data": result, "message": "Migration completed successfully"})
        t3 = time.perf_counter()
        parse_s.append(t1 - t0)
        plan_s.append(t2 - t1)
        response_s.append(t3 - t2)

    def port_ms(counter: Counting, *names: str) -> float:
        return ms(counter.wall(*names) / runs)
    docs, secrets, backups = timed.documents, timed.secrets, timed.backups
    lease_ms = port_ms(docs, "read", "create")
    complete_ms = port_ms(docs, "replace", "increment")
    writes_ms = ms(union_seconds(secrets.spans.get("set", []) + docs.spans.get("list_ids", []) +
                                 docs.spans.get("write_set", [])) / runs)
    phase_values = [ms(median(parse_s)), ms(median(plan_s)), lease_ms, port_ms(backups, "write"), writes_ms,
                    complete_ms, ms(median(response_s))]
    floor_ms = ms(median([f["total"] for f in floors]))
    fn_ms = ms(median(function_s))
    row = [profile + (" (quick)" if ctx.quick else ""), round(size_mb(data), 2), len(documents), runs,
           ms(median([f["loads"] for f in floors])), ms(median([f["dumps"] for f in floors])),
           ms(median([f["insert"] for f in floors])), floor_ms, fn_ms, ms(median(service_s)),
           f"{fn_ms / floor_ms:.1f}×"]
    return row, [profile + (" (quick)" if ctx.quick else ""), *phase_values, sum(phase_values)]
