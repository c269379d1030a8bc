"""infra/ identities and role assignments: what the app's user-assigned identity needs, the deploying user's
optional roles, and no broad role or other principal anywhere."""
from __future__ import annotations

from typing import Any

import pytest

from tests.infra import bicep_model as bm
from tests.infra.project_infra import expr_text, main_file, main_scope, module_scope

ROLE = {  # built-in role definition ids
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Cosmos DB Built-in Data Contributor": "00000000-0000-0000-0000-000000000002",  # Cosmos data plane
}
BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor (can list keys)",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}

APP_IDENTITY = "identity.outputs.principalId"  # main.bicep: the Function App's user-assigned identity
DEPLOYING_USER = "principalId"                 # main.bicep param: the deploying user (optional)

# What the app's identity needs, by (module symbol in main.bicep, scope resource type, role, why).
APP_ROLE_ASSIGNMENTS = [
    ("storage", "Microsoft.Storage/storageAccounts", "Storage Blob Data Owner",
     "backup blobs, AzureWebJobsStorage (secrets, timer locks), the Flex deployment package"),
    ("storage", "Microsoft.Storage/storageAccounts", "Storage Queue Data Contributor",
     "blob trigger poison queue (BACKUP_STORAGE) and host queues (AzureWebJobsStorage)"),
    ("storage", "Microsoft.Storage/storageAccounts", "Storage Table Data Contributor",
     "Functions host diagnostic events in AzureWebJobsStorage"),
    ("keyVault", "Microsoft.KeyVault/vaults", "Key Vault Secrets Officer",
     "set, read and delete migrated secrets (SECRET_STORE=keyvault)"),
]
# What a deploying user gets (only when principalId is not empty) for local runs against Azure.
USER_ROLE_ASSIGNMENTS = [
    ("storage", "Microsoft.Storage/storageAccounts", "Storage Blob Data Owner"),
    ("keyVault", "Microsoft.KeyVault/vaults", "Key Vault Secrets Officer"),
]


def _role_assignments(module_symbol: str) -> list[tuple[bm.Resource, dict[str, Any], bm.Scope]]:
    scope = module_scope(module_symbol, defaults=False)
    return [(r, scope.eval(r.body), scope)
            for r in scope.file.resources_of_type("Microsoft.Authorization/roleAssignments")]


def _find_role(module_symbol: str, role_id: str, principal: str) -> list[tuple[bm.Resource, dict[str, Any], bm.Scope]]:
    return [(r, body, s) for r, body, s in _role_assignments(module_symbol)
            if str(body["properties"]["roleDefinitionId"]).endswith("/" + role_id)
            and expr_text(body["properties"]["principalId"]) == principal]


@pytest.mark.parametrize("module_symbol,scope_type,role,why", APP_ROLE_ASSIGNMENTS, ids=lambda v: str(v)[:40])
def test_app_identity_has_role(module_symbol: str, scope_type: str, role: str, why: str):
    found = _find_role(module_symbol, ROLE[role], APP_IDENTITY)
    assert len(found) == 1, f"{role} for the app identity ({why}) not assigned exactly once in {module_symbol}"
    res, body, scope = found[0]
    assert res.condition is None, f"{res.symbol}: the app's role must not be conditional"
    assert body["properties"]["principalType"] == "ServicePrincipal"
    target = scope.file.resources[expr_text(res.body["scope"])]
    assert target.type == scope_type and not target.existing
    name = res.body["name"]
    assert expr_text(name) and name.text.startswith("guid(") and "identityPrincipalId" in name.text \
        and f"{target.symbol}.id" in name.text, f"{res.symbol}: name should be guid(scope, principal, role)"


@pytest.mark.parametrize("module_symbol,scope_type,role", USER_ROLE_ASSIGNMENTS, ids=lambda v: str(v)[:40])
def test_deploying_user_role_is_optional(module_symbol: str, scope_type: str, role: str):
    found = _find_role(module_symbol, ROLE[role], DEPLOYING_USER)
    assert len(found) == 1, f"{role} for the deploying user missing in {module_symbol}"
    res, body, scope = found[0]
    assert res.condition is not None and res.condition.text == "(!empty(userPrincipalId))"
    assert expr_text(body["properties"]["principalType"]) == "principalType"
    assert scope.file.resources[expr_text(res.body["scope"])].type == scope_type


def test_cosmos_data_contributor_for_the_app_identity_and_optional_user():
    scope = module_scope("cosmos", defaults=False)
    assigns = scope.file.resources_of_type("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    by_principal = {}
    for res in assigns:
        body = scope.eval(res.body)
        props = body["properties"]
        assert expr_text(res.body["parent"]) == "account"
        assert expr_text(props["roleDefinitionId"]) == \
            "${account.id}/sqlRoleDefinitions/" + ROLE["Cosmos DB Built-in Data Contributor"]
        assert expr_text(props["scope"]) == "account.id"
        by_principal[expr_text(props["principalId"])] = res
    assert scope.file.variables["dataContributorRoleId"].value == ROLE["Cosmos DB Built-in Data Contributor"]
    assert set(by_principal) == {APP_IDENTITY, DEPLOYING_USER}
    assert by_principal[APP_IDENTITY].condition is None
    assert by_principal[DEPLOYING_USER].condition.text == "(!empty(userPrincipalId))"


def test_app_insights_metrics_publisher_for_the_app_identity():
    scope = main_scope(defaults=False)
    params = scope.eval(scope.file.modules["appInsights"].params)
    assigns = params["roleAssignments"]
    assert any(str(a["roleDefinitionIdOrName"]).endswith("/" + ROLE["Monitoring Metrics Publisher"])
               and expr_text(a["principalId"]) == APP_IDENTITY and a["principalType"] == "ServicePrincipal"
               for a in assigns), assigns


def test_no_broad_roles_anywhere():
    for symbol, module in main_file().modules.items():
        if module.is_registry:
            continue
        for res, body, _ in _role_assignments(symbol):
            role = str(body["properties"]["roleDefinitionId"]).rsplit("/", 1)[-1]
            assert role not in BROAD_ROLES, f"{symbol}/{res.symbol}: {BROAD_ROLES[role]}"
            assert role in ROLE.values(), f"{symbol}/{res.symbol}: unexpected role {role}"


def test_every_principal_is_the_app_identity_or_the_deploying_user():
    for symbol, module in main_file().modules.items():
        if module.is_registry:
            continue
        scope = module_scope(symbol, defaults=False)
        for res in scope.file.resources.values():
            props = res.body.get("properties")
            if isinstance(props, dict) and "principalId" in props:
                assert expr_text(scope.eval(props["principalId"])) in {APP_IDENTITY, DEPLOYING_USER}, res.symbol
