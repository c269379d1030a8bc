"""Per-tenant counters, bumped as migrations finish, so metrics never need to scan user data. Pure.

Two counter documents per tenant in its tenant-level partition: `counters` (totals since the start) and
`counters.<YYYYMMDD>` (completions per minute of one UTC day, for charts and the peak load). All fields are
flat numbers so every adapter can add to them atomically.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

DURATION_BUCKETS_MS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
TOTALS_ID = "counters"
_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _name(prefix: str, value: str) -> str:
    return prefix + _SAFE.sub("_", value)[:60]


def day_id(ts: float) -> str:
    return "counters." + datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y%m%d")


def duration_bucket(ms: float) -> str:
    upper = next((b for b in DURATION_BUCKETS_MS if ms <= b), None)
    return f"duration_le_{upper}" if upper else "duration_le_inf"


def completion(summary: dict[str, int], duration_ms: int, backup: bool,
               quarantine_reasons: list[str]) -> dict[str, float]:
    deltas: dict[str, float] = {"attempts": 1, "completions": 1, "duration_ms_sum": duration_ms,
                                duration_bucket(duration_ms): 1, "backups_written": int(backup), "browsers": 1}
    for kind, n in summary.items():
        deltas[_name("records_", kind)] = n
    for reason in quarantine_reasons:
        deltas[_name("quarantined_", reason)] = deltas.get(_name("quarantined_", reason), 0) + 1
    return deltas


def merged(conflicts: int, new_browser: bool, backup: bool, after_rollback: bool) -> dict[str, float]:
    """A merge into a completed user: its own counters, a completion only when it re-migrates a rolled-back
    user (users_migrated = completions - rollbacks counts users). `browsers` counts each (user, browser)
    once: browsers per user = browsers / users_migrated."""
    deltas: dict[str, float] = {"merges": 1, "merge_conflicts": conflicts, "browsers": int(new_browser),
                                "backups_written": int(backup)}
    if after_rollback:
        deltas.update(attempts=1, completions=1)
    return deltas


def merge_failure(code: str) -> dict[str, float]:
    return {"merge_failures": 1, _name("error_", code): 1}


def failure(code: str) -> dict[str, float]:
    return {"attempts": 1, "failures": 1, _name("error_", code): 1}


def minute(ts: float) -> dict[str, float]:
    return {"minute_" + datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H%M"): 1}


def totals_base(tenant: str, user: str) -> dict:
    return {"type": "counters", "tenantId": tenant, "userId": user, "schemaVersion": 1}


def day_base(tenant: str, ts: float, user: str) -> dict:
    return {"type": "counters_day", "tenantId": tenant, "userId": user, "schemaVersion": 1,
            "day": datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y%m%d")}
