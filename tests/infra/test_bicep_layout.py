"""infra/ names and layout against the code: the Cosmos account, database and container (partition key,
indexing), the storage account and backup container, the Flex Function App and its identity, and the Event Grid
subscription feeding the record_backup blob trigger."""
from __future__ import annotations

import re
from typing import Any

import pytest

from shared import cosmos_layout
from shared.settings import Settings
from tests.infra import bicep_model as bm
from tests.infra.project_infra import (
    ROOT,
    app_settings,
    expr_text,
    expression_node,
    follow,
    main_file,
    main_scope,
    module_scope,
    the_function_app,
)


def _cosmos(defaults: bool = True) -> tuple[bm.Scope, bm.Resource, bm.Resource, bm.Resource]:
    scope = module_scope("cosmos", defaults=defaults)
    f = scope.file
    (account,) = f.resources_of_type("Microsoft.DocumentDB/databaseAccounts")
    (db,) = f.resources_of_type("Microsoft.DocumentDB/databaseAccounts/sqlDatabases")
    (container,) = f.resources_of_type("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
    return scope, account, db, container


def test_cosmos_partition_key_and_indexing_policy_equal_the_code():
    scope, _, _, container = _cosmos()
    resource = scope.eval(container.body["properties"]["resource"])
    assert resource["partitionKey"] == {
        "paths": cosmos_layout.PARTITION_KEY_PATHS,
        "kind": cosmos_layout.PARTITION_KEY_KIND,
        "version": cosmos_layout.PARTITION_KEY_VERSION,
    }
    assert resource["indexingPolicy"] == cosmos_layout.INDEXING_POLICY
    assert resource["defaultTtl"] == cosmos_layout.DEFAULT_TTL  # else the counters' receipts never expire


def test_cosmos_names_equal_the_code_defaults_and_the_app_settings():
    scope, _, db, container = _cosmos()
    database = Settings.model_fields["cosmos_database"].default
    name = Settings.model_fields["cosmos_container"].default
    assert scope.eval(db.body["name"]) == scope.eval(db.body["properties"]["resource"]["id"]) == database
    assert scope.eval(container.body["name"]) == scope.eval(container.body["properties"]["resource"]["id"]) == name
    assert expr_text(container.body["parent"]) == db.symbol
    settings = app_settings()
    assert follow(settings["COSMOS_DATABASE"]) == database
    assert follow(settings["COSMOS_CONTAINER"]) == name


def test_cosmos_is_keyless_and_serverless_by_default_with_autoscale_option():
    scope, account, _, container = _cosmos()
    props = account.body["properties"]
    assert props["disableLocalAuth"] is True
    assert props["disableKeyBasedMetadataWriteAccess"] is True
    main = main_file()
    assert main.params["cosmosThroughputMode"].default == "serverless"
    assert main.params["cosmosThroughputMode"].decorator("allowed") == [["serverless", "autoscale"]]
    caps = props["capabilities"]
    assert expr_text(caps) is not None and "throughputMode == 'serverless'" in caps.text
    assert "EnableServerless" in caps.text
    options = container.body["properties"]["options"]
    assert "throughputMode == 'autoscale'" in options.text and "maxThroughput: autoscaleMaxThroughput" in options.text
    assert scope.eval(bm.Expr("identifier", "throughputMode", expression_node("throughputMode"))) == "serverless"


def test_backup_container_and_lifecycle_rule_follow_the_code_and_retention_parameter():
    scope = module_scope("storage", defaults=True)
    f = scope.file
    backup = Settings.model_fields["backup_container"].default
    containers = {scope.eval(r.body["name"]) for r in
                  f.resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers")}
    assert backup in containers
    assert app_settings()["BACKUP_CONTAINER"] == backup
    (policy,) = f.resources_of_type("Microsoft.Storage/storageAccounts/managementPolicies")
    assert scope.eval(policy.body["name"]) == "default"
    rules = scope.eval(policy.body["properties"]["policy"]["rules"])
    backup_rules = [r for r in rules if f"{backup}/" in r["definition"]["filters"].get("prefixMatch", [])]
    assert len(backup_rules) == 1 and backup_rules[0]["enabled"] is True
    delete = backup_rules[0]["definition"]["actions"]["baseBlob"]["delete"]
    # symbolic: the days come from the retention parameter of main.bicep
    sym = module_scope("storage", defaults=False)
    (sym_policy,) = sym.file.resources_of_type("Microsoft.Storage/storageAccounts/managementPolicies")
    sym_rule = sym.eval(sym_policy.body["properties"]["policy"]["rules"])[0]
    assert expr_text(sym_rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"]) \
        == "backupRetentionDays"
    assert delete["daysAfterModificationGreaterThan"] == main_file().params["backupRetentionDays"].default


def test_storage_account_is_keyless():
    scope = module_scope("storage", defaults=True)
    (account,) = scope.file.resources_of_type("Microsoft.Storage/storageAccounts")
    props = account.body["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"


def test_function_app_is_flex_consumption_python_with_the_user_assigned_identity():
    scope, site = the_function_app(defaults=False)
    (plan,) = scope.file.resources_of_type("Microsoft.Web/serverfarms")
    assert plan.body["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan.body["properties"]["reserved"] is True
    props = site.body["properties"]
    assert expr_text(props["serverFarmId"]) == f"{plan.symbol}.id"
    assert site.body["kind"] == "functionapp,linux"
    assert props["httpsOnly"] is True
    cfg = props["functionAppConfig"]
    assert cfg["runtime"] == {"name": "python", "version": "3.11"}
    identity = site.body["identity"]
    assert identity["type"] == "UserAssigned"
    assert list(identity["userAssignedIdentities"]) == ["'${identityResourceId}'"]
    assert expr_text(scope.bindings["identityResourceId"]) == "identity.outputs.resourceId"
    assert expr_text(scope.bindings["identityClientId"]) == "identity.outputs.clientId"
    main = main_file()
    assert main.modules["identity"].path.startswith("br/public:avm/res/managed-identity/user-assigned-identity:")
    storage = cfg["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    identity = bm.Expr("identifier", "identityResourceId", None)
    assert storage["authentication"] == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": identity}
    deployed = module_scope("functionApp", defaults=True)
    deployment_container = deployed.eval(
        bm.Expr("identifier", "deploymentContainerName", expression_node("deploymentContainerName")))
    storage_scope = module_scope("storage", defaults=True)
    containers = {storage_scope.eval(r.body["name"]) for r in
                  storage_scope.file.resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers")}
    assert deployment_container in containers, "the Flex deployment container must exist in the storage account"
    assert deployment_container != Settings.model_fields["backup_container"].default
    tags = site.body["tags"]
    assert "'azd-service-name': 'api'" in tags.text, "azd finds the deploy target by this tag"


def test_backup_event_subscription_targets_the_record_backup_blob_extension_webhook():
    main = main_file()
    module = main.modules["backupEvents"]
    assert module.condition is not None and module.condition.text == "(enableBackupEventSubscription)"
    assert main.params["enableBackupEventSubscription"].default is False
    scope = main_scope(defaults=True).module_scope(module)
    (sub,) = scope.file.resources_of_type("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    assert scope.file.resources_of_type("Microsoft.Web/sites", existing=True), "function app is referenced, not created"
    body = scope.eval(sub.body)
    dest = body["properties"]["destination"]
    assert dest["endpointType"] == "WebHook"
    url = dest["properties"]["endpointUrl"]
    assert isinstance(url, bm.Expr) and url.kind == "template"
    assert re.fullmatch(
        r"https://\$\{functionApp\.properties\.defaultHostName\}/runtime/webhooks/blobs"
        r"\?functionName=Host\.Functions\.record_backup"
        r"&code=\$\{listKeys\('\$\{functionApp\.id\}/host/default', '[\d-]+'\)\.systemKeys\.blobs_extension\}",
        url.text), url.text
    backup = Settings.model_fields["backup_container"].default
    assert body["properties"]["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert body["properties"]["filter"]["subjectBeginsWith"] == f"/blobServices/default/containers/{backup}/"
    assert expr_text(sub.body["parent"]) in {r.symbol for r in scope.file.resources_of_type(
        "Microsoft.EventGrid/systemTopics", existing=True)}
    # the system topic sits on the storage account that holds the backups
    storage = module_scope("storage", defaults=True)
    (topic,) = storage.file.resources_of_type("Microsoft.EventGrid/systemTopics")
    assert topic.body["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    (account,) = storage.file.resources_of_type("Microsoft.Storage/storageAccounts")
    assert expr_text(topic.body["properties"]["source"]) == f"{account.symbol}.id"
    assert expr_text(scope.bindings["systemTopicName"]) == "storage.outputs.systemTopicName"
    assert expr_text(scope.bindings["functionAppName"]) == "functionApp.outputs.name"


def _blob_triggers_in_code() -> list[dict[str, Any]]:
    """Blob-trigger decorators in function_app.py and migration/ (read with ast: importing the app would
    index it, and azure.functions allows that only once per app object)."""
    import ast

    found = []
    files = [ROOT / "function_app.py", *sorted((ROOT / "migration").rglob("*.py"))]
    for path in (p for p in files if p.is_file()):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            info: dict[str, Any] = {"def": node.name, "file": path.name}
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute):
                    kwargs = {k.arg: k.value for k in dec.keywords if k.arg}
                    if dec.func.attr == "blob_trigger":
                        info["trigger"] = {k: ast.unparse(v) for k, v in kwargs.items()}
                    elif dec.func.attr == "function_name":
                        arg = dec.args[0] if dec.args else kwargs.get("name")
                        info["name"] = ast.literal_eval(arg) if arg is not None else None
            if "trigger" in info:
                found.append(info)
    return found


def ast_literal(source: str) -> Any:
    import ast

    return ast.literal_eval(source)


def test_code_blob_trigger_matches_the_event_subscription_and_connection():
    triggers = _blob_triggers_in_code()
    if not triggers:
        pytest.skip("no blob trigger in function_app.py / migration/ yet")
    assert len(triggers) == 1, triggers
    t = triggers[0]
    name = t.get("name") or t["def"]
    module = main_file().modules["backupEvents"]
    assert name == module.params["functionName"], f"function {name!r} vs webhook functionName"
    backup = Settings.model_fields["backup_container"].default
    settings = app_settings()
    # `%NAME%` in a binding path is the app setting NAME (resolved by the host)
    path = re.sub(r"%(\w+)%", lambda m: str(settings[m.group(1)]), ast_literal(t["trigger"]["path"]))
    assert path == f"{backup}/{{name}}", t
    connection = ast_literal(t["trigger"]["connection"])
    assert connection == "BACKUP_STORAGE", t
    assert t["trigger"].get("source") == "func.BlobSource.EVENT_GRID", "Flex Consumption needs the Event Grid source"
    for suffix in ("blobServiceUri", "queueServiceUri", "credential", "clientId"):
        assert f"{connection}__{suffix}" in settings
