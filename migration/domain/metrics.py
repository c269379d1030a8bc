"""The seed's MigrationDashboard, computed from per-tenant counter documents only. Pure.

Cost: one counters document per tenant plus one per tenant and day (the last two days), whatever the number
of users, sessions or messages.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from migration.domain.counters import DURATION_BUCKETS_MS

# The seed's success criteria (§7) and their targets.
TARGETS = {"completion_rate": 0.95, "error_rate": 0.02, "p95_migration_seconds": 30.0, "backup_success": 1.0}


def _sum(docs: Iterable[dict], field: str) -> float:
    return sum(d.get(field, 0) for d in docs)


def _p95_ms(totals: dict[str, float]) -> float | None:
    counts: list[tuple[float, float]] = [(b, totals.get(f"duration_le_{b}", 0)) for b in DURATION_BUCKETS_MS]
    counts.append((float("inf"), totals.get("duration_le_inf", 0)))
    n = sum(c for _, c in counts)
    if not n:
        return None
    seen = 0.0
    for upper, c in counts:
        seen += c
        if seen >= 0.95 * n:
            return upper if upper != float("inf") else float(DURATION_BUCKETS_MS[-1])
    return None


def _prefixed(totals: dict[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix):]: v for k, v in totals.items() if k.startswith(prefix) and v}


def dashboard(tenant_counters: list[dict], day_counters: list[dict]) -> dict:
    totals: dict[str, float] = defaultdict(float)
    for doc in tenant_counters:
        for k, v in doc.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "schemaVersion":
                totals[k] += v
    attempts, completions, failures = totals["attempts"], totals["completions"], totals["failures"]
    users = totals["users_started"]
    migrated = completions - totals["rollbacks"]
    per_minute: dict[str, float] = defaultdict(float)
    for doc in day_counters:
        for k, v in doc.items():
            if k.startswith("minute_"):
                per_minute[f"{doc['day']}{k[7:]}"] += v
    per_hour: dict[str, float] = defaultdict(float)
    for stamp, n in per_minute.items():
        per_hour[stamp[:10]] += n
    p95 = _p95_ms(totals)
    backups = totals["backups_written"]
    return {
        "total_users": int(users),
        "users_migrated": int(migrated),
        "migration_success_rate": round(completions / attempts, 4) if attempts else None,
        "records_by_type": {k: int(v) for k, v in _prefixed(totals, "records_").items()},
        "error_breakdown": {k: int(v) for k, v in _prefixed(totals, "error_").items()},
        "quarantine_breakdown": {k: int(v) for k, v in _prefixed(totals, "quarantined_").items()},
        "performance_metrics": {
            "average_migration_time": round(totals["duration_ms_sum"] / completions) if completions else None,
            "p95_migration_time": p95,
            "peak_migration_load": int(max(per_minute.values(), default=0)),
            "request_charge_per_migration": (round(totals["request_charge_sum"] / completions, 2) if completions
                                             else None),
        },
        # Hours are UTC, written YYYYMMDDHH.
        "migrations_per_hour": [{"hour": h, "count": int(per_hour[h])} for h in sorted(per_hour)],
        "counts": {"attempts": int(attempts), "completions": int(completions), "failures": int(failures),
                   "rollbacks": int(totals["rollbacks"]), "backups_written": int(backups),
                   "backups_verified": int(totals["backups_verified"]),
                   "backups_unverified": int(totals["backups_unverified"])},
        "success_criteria": _criteria(users, migrated, attempts, failures, p95, totals["backups_verified"],
                                      totals["backups_unverified"]),
        "tenants": len(tenant_counters),
        "merges": {"merges": int(totals["merges"]), "conflicts": int(totals["merge_conflicts"]),
                   "failures": int(totals["merge_failures"]), "browsers": int(totals["browsers"]),
                   "browsers_per_user": round(totals["browsers"] / migrated, 2) if migrated > 0 else None},
    }


def _criteria(users: float, migrated: float, attempts: float, failures: float, p95: float | None,
              verified: float, unverified: float) -> dict:
    def item(value: float | None, target: float, higher_is_better: bool) -> dict:
        met = None if value is None else (value >= target if higher_is_better else value <= target)
        return {"value": value, "target": target, "met": met}
    return {
        "completion_rate": item(round(migrated / users, 4) if users else None, TARGETS["completion_rate"], True),
        "error_rate": item(round(failures / attempts, 4) if attempts else None, TARGETS["error_rate"], False),
        "p95_migration_seconds": item(None if p95 is None else p95 / 1000, TARGETS["p95_migration_seconds"], False),
        # Over the backups the blob trigger has checked: one still on its way is neither a success nor a failure.
        "backup_success": item(round(verified / (verified + unverified), 4) if verified + unverified else None,
                               TARGETS["backup_success"], True),
    }
