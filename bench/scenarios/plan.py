"""plan: the plan phase alone (`planner.plan`, pure CPU), as CPU time over many runs.

The floor scenario's "plan ms" is a wall-clock median of a few runs taken after the store phases; on this shared
2-core machine whole minutes run up to ~2x slower (the same code measured 7.2 and 13.9 ms best one minute apart),
so a before/after comparison of the plan wants many runs, CPU time and the best and lower quartile, taken back to
back. Same payloads as floor (`typical`, `heavy`), same document size cap as the app's default.
"""
from __future__ import annotations

import time

from migration.domain import planner
from shared.settings import Settings

from ..common import Context, Table, median, ms, payload, percentile


def run(ctx: Context) -> list[Table]:
    cap = Settings.model_fields["max_document_bytes"].default
    table = Table("plan: planner.plan() alone, CPU time",
                  ["profile", "keys", "documents", "runs", "best ms", "p25 ms", "median ms", "wall median ms"])
    for profile in ("typical", "heavy"):
        data = payload(profile, quick=ctx.quick)
        runs = ctx.runs(full=40 if profile == "typical" else 12)
        documents = len(planner.plan("contoso", "warm-up", data, max_document_bytes=cap).documents)
        cpu, wall = [], []
        for i in range(runs):
            c0, w0 = time.process_time(), time.perf_counter()
            planner.plan("contoso", f"run-{i}", data, max_document_bytes=cap)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        table.add(profile, len(data), documents, runs, ms(min(cpu)), ms(percentile(cpu, 25)), ms(median(cpu)),
                  ms(median(wall)))
    table.notes.append("CPU time of the calling process (time.process_time), one warm-up run first. Compare "
                       "checkouts with runs taken back to back, alternating, on the best and p25 columns.")
    return [table]
