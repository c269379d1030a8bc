"""The typed record and tenant state: the status a user sees, when a migrate merges, the rollout rule."""
from __future__ import annotations

import pytest

from migration.domain.records import MigrationRecord, TenantState

NOW = 1_000.0
B = {"browser-a": {"migration_id": "m-1", "completed_at": "t", "migrated_records": 3, "manifest": None}}


@pytest.mark.parametrize("doc, seen, ever, taken", [
    (None, "not_started", False, False),
    ({"status": "in_progress", "leaseExpiresAt": NOW + 5}, "in_progress", False, True),
    ({"status": "in_progress", "leaseExpiresAt": NOW - 5}, "failed", False, False),   # the attempt died
    ({"status": "failed"}, "failed", False, False),
    ({"status": "completed"}, "completed", True, False),                               # a seed-era record
    ({"status": "rolled_back", "browsers": B}, "rolled_back", True, False),
    ({"status": "in_progress", "leaseExpiresAt": NOW + 5, "browsers": B}, "completed", True, True),  # a merge runs
    ({"status": "in_progress", "leaseExpiresAt": NOW - 5, "browsers": B}, "completed", True, False),  # one crashed
    ({"status": "failed", "browsers": B, "unknownField": 1}, "completed", True, False),
])
def test_record_status_and_merge_rule(doc, seen, ever, taken):
    record = MigrationRecord.read(doc)
    assert (record.reported_status(NOW), record.ever_completed, record.taken(NOW)) == (seen, ever, taken)


@pytest.mark.parametrize("state, rollout_all, listed, enabled", [
    ({}, True, [], True),
    ({}, False, ["contoso"], True),
    ({}, False, ["fabrikam"], False),
    ({"rolloutEnabled": False}, True, ["contoso"], False),
    ({"rolloutEnabled": True}, False, [], True),
    ({"rolloutEnabled": None}, False, [], False),
])
def test_rollout_rule(state, rollout_all, listed, enabled):
    assert TenantState.read(state).migration_enabled("contoso", rollout_all, listed) is enabled
