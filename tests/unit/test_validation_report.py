"""Issue caps: per user and type, and fair shares per tenant in a report (pure)."""
import pytest

from migration.services import validation


def _issue(kind: str, tenant: str, user: str = "u") -> dict:
    return validation.issue(kind, "d", {"tenantId": tenant, "userId": user, "migrationId": "m"})


@pytest.mark.parametrize("n", [0, 1, validation.ISSUES_PER_USER_TYPE, validation.ISSUES_PER_USER_TYPE + 1, 600])
def test_per_user_cap_lists_a_few_and_counts_all(n):
    found = [_issue("DANGLING_REFERENCE", "t") for _ in range(n)] + [_issue("BACKUP_MISSING", "t")]
    kept = validation.cap_per_user(found)
    assert len(kept) == min(n, validation.ISSUES_PER_USER_TYPE) + 1
    assert sum(validation.issue_weight(i) for i in kept) == n + 1
    assert kept[-1]["type"] == "BACKUP_MISSING"


@pytest.mark.parametrize("noisy_users, limit", [(1, 500), (40, 500), (400, 100)])
def test_a_noisy_tenant_never_hides_a_quiet_one(noisy_users, limit):
    issues = [i for u in range(noisy_users)
              for i in validation.cap_per_user([_issue("DANGLING_REFERENCE", "noisy", f"u{u}") for _ in range(600)])]
    issues.insert(len(issues) // 2, _issue("BACKUP_MISSING", "quiet"))
    report = validation.fair_report(issues, limit=limit)
    assert ("quiet", "BACKUP_MISSING") in {(i["data"]["tenantId"], i["type"]) for i in report["issues_found"]}
    assert len(report["issues_found"]) <= limit
    assert report["issue_counts_by_tenant"] == {"noisy": 600 * noisy_users, "quiet": 1}
    assert report["issue_counts"] == {"DANGLING_REFERENCE": 600 * noisy_users, "BACKUP_MISSING": 1}
