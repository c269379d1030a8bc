"""A plan under the settings' limits, and the MigrationResult a plan makes. Pure."""
from __future__ import annotations

from typing import Any

from migration.domain import errors, planner
from migration.domain.planner import Plan
from shared.settings import Settings


def limits(s: Settings) -> planner.Limits:
    return planner.Limits(max_documents=s.max_documents, max_items_per_key=s.max_items_per_key,
                          max_secrets=s.max_secrets, max_keys=s.max_keys)


def plan(s: Settings, tenant: str, user: str, data: dict[str, str], browser_id: str = planner.DEFAULT_BROWSER,
         **kw: Any) -> Plan:
    try:
        return planner.plan(tenant, user, data, max_document_bytes=s.max_document_bytes, limits=limits(s),
                            browser_id=browser_id, **kw)
    except planner.PlanTooLarge as e:
        raise errors.too_large(e.code, e.what, e.limit, e.key) from None


def result(plan: Plan, backup: dict | None, duration_ms: int) -> dict:
    return {
        "success": True, "status": "completed", "migratedRecords": plan.migrated_records, "errors": [],
        "summary": dict(plan.summary), "migration_id": plan.migration_id, "manifest": plan.counts,
        "quarantined": plan.listed(planner.Disposition.QUARANTINED),
        "ignored": plan.listed(planner.Disposition.IGNORED),
        "warnings": plan.warnings, "warnings_total": plan.warning_count, "backup": backup,
        "duration_ms": duration_ms,
        "browser_id": plan.browser_id, "merge": None,
    }
