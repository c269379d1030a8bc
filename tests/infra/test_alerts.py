"""Alert rules (infra/modules/alerts.bicep) on the plan's success criteria, and the telemetry they rely on."""
from __future__ import annotations

import json
import re

import pytest

from tests.infra import bicep_model as bm
from tests.infra.project_infra import INFRA, ROOT, expr_text, main_file

CODE = "\n".join(p.read_text() for p in [*(ROOT / "migration").rglob("*.py"), *(ROOT / "shared").glob("*.py")])
ISSUE_TYPES = set(re.findall(r'issue\("([A-Z_]+)"', (ROOT / "migration" / "services" / "validation.py").read_text()))

# rule symbol -> (what it watches, severity, the query's telemetry markers)
RULES = {
    "migrationErrorRate": ("error rate over 2 % in an hour", 1, ['name == "migrations"', 'outcome == "failed"',
                                                               "* 100.0 / total > 2"]),
    "backupFailure": ("any backup failure", 1, ['"backup failed"', '"is not a backup document"',
                                                "\"is not at its owner's path\"", '"validation issue type=BACKUP_"']),
    "isolationOrPlaintext": ("tenant isolation or plaintext secret", 0,
                             ['"validation issue type=TENANT_ISOLATION_VIOLATION"',
                              '"validation issue type=PLAINTEXT_SECRET"']),
    "serverErrorBurst": ("5xx bursts", 2, ["toint(resultCode) >= 500"]),
}

# Text the queries match that the code logs today (a change to these lines must update the alerts).
IN_CODE = {
    '"migrations"': 'meter counter "migrations" (shared/telemetry.py)',
    '"failed"': 'migration_finished("failed") (migration/services/service.py)',
    "is not a backup document": "record_backup refusing a blob (migration/services/service.py)",
    "is not at its owner's path": "record_backup refusing a blob (migration/services/service.py)",
    "backup failed": "the backup write raising (migration/services/service.py)",
    "validation issue type=": "one line per issue type a sweep finds (migration/services/ops.py)",
}
PENDING: dict[str, str] = {}  # log lines an alert needs that the code does not write yet


def _alerts() -> tuple[bm.BicepFile, bm.Scope]:
    main = main_file()
    module = main.modules["alerts"]
    child = bm.load(main.module_file(module))
    return child, bm.Scope(child, {}, defaults=False)


def test_every_success_criterion_has_an_enabled_rule_to_the_action_group():
    alerts, scope = _alerts()
    rules = {r.symbol: r for r in alerts.resources_of_type("Microsoft.Insights/scheduledQueryRules")}
    assert set(rules) == set(RULES)
    for symbol, (what, severity, markers) in RULES.items():
        props = scope.eval(rules[symbol].body["properties"])
        assert props["enabled"] is True and props["severity"] == severity, what
        assert [expr_text(s) for s in props["scopes"]] == ["applicationInsightsId"], what
        assert [expr_text(a) for a in props["actions"]["actionGroups"]] == ["actionGroup.id"], what
        (criterion,) = props["criteria"]["allOf"]
        for marker in markers:
            assert marker in criterion["query"], f"{what}: {marker}"


def test_alert_queries_match_what_the_code_logs_or_a_listed_pending_line():
    alerts, scope = _alerts()
    for rule in alerts.resources_of_type("Microsoft.Insights/scheduledQueryRules"):
        query = scope.eval(rule.body["properties"])["criteria"]["allOf"][0]["query"]
        for literal in re.findall(r'"([^"]+)"', query):
            listed = [k for k in IN_CODE if k.strip('"') == literal or k.strip('"') in literal]
            pending = [k for k in PENDING if literal.startswith(k)]
            assert listed or pending, f"{rule.symbol}: {literal!r} is neither logged by the code nor listed"
            if pending:
                kind = literal[len("validation issue type="):]
                if kind:
                    assert any(t.startswith(kind) for t in ISSUE_TYPES), f"{literal}: no such issue type"
    for marker, where in IN_CODE.items():
        assert marker.strip('"') in CODE, f"{marker} ({where}) is no longer in the code: update the alerts"


def test_validation_issue_types_in_alerts_exist():
    assert {"TENANT_ISOLATION_VIOLATION", "PLAINTEXT_SECRET", "BACKUP_MISSING", "BACKUP_ALTERED"} <= ISSUE_TYPES


@pytest.mark.parametrize("email,receivers", [("", []), ("ops@example.com", ["ops@example.com"])])
def test_action_group_mails_the_alert_email_parameter(email: str, receivers: list[str]):
    alerts, _ = _alerts()
    (group,) = alerts.resources_of_type("Microsoft.Insights/actionGroups")
    props = bm.Scope(alerts, {"alertEmail": email}).eval(group.body["properties"])
    assert [r["emailAddress"] for r in props["emailReceivers"]] == receivers
    assert props["enabled"] is True


def test_alert_email_is_an_azd_parameter_passed_to_the_alerts():
    main = main_file()
    assert main.params["alertEmail"].default == ""
    assert expr_text(main.modules["alerts"].params["alertEmail"]) == "alertEmail"
    assert expr_text(main.modules["alerts"].params["applicationInsightsId"]) == "appInsights.outputs.resourceId"
    params = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert params["alertEmail"]["value"] == "${ALERT_EMAIL=}"
