"""infra/ (Bicep) against the code: syntax, settings, Cosmos layout, identities and roles, no secrets.

No Bicep compiler runs here (its CLI downloads a binary). The files are parsed with tree-sitter-bicep and
checked structurally through tests/infra/bicep_model.py: declarations, module calls and their parameters,
resource bodies, evaluated where the value is static (param defaults, vars, module-call arguments).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project's `shared` package (not the ../shared folder beside the checkout)
    sys.path.insert(0, str(ROOT))

from shared import cosmos_layout  # noqa: E402
from shared.settings import Settings, setting_names  # noqa: E402

from . import arm_types, bicep_model as bm  # noqa: E402

INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

# --------------------------------------------------------------------------------------------------------
# The documented exceptions
# --------------------------------------------------------------------------------------------------------

# Settings the code reads that the Bicep deliberately does NOT set (every other name in
# shared.settings.setting_names() must be an app setting of the Function App).
LOCAL_ONLY_OR_OPTIONAL = {
    "LOCAL_DATA_DIR": "embedded adapters' data folder; local runs only (refused in Azure)",
    "LOCAL_SECRETS_KEY": "key of the local encrypted secrets file; local runs only",
    "COSMOS": "Cosmos connection string with a key: emulator only (Azure uses COSMOS__accountEndpoint + identity)",
    "COSMOS_VERIFY_TLS": "only for the emulator's self-signed certificate; default true",
    "BACKUP_STORAGE": "storage connection string with a key: Azurite only (Azure uses BACKUP_STORAGE__* + identity)",
    "KEY_VAULT_VERIFY_TLS": "only for the local Key Vault test server's self-signed certificate; default true",
    "AUTH_DEV_SECRET": "HS256 dev tokens; AUTH_MODE=dev is refused in Azure",
    "FAULT_INJECTION": "fault injection for local runs and tests; refused in Azure (shared/faults.py)",
    "WEBSITE_INSTANCE_ID": "set by the platform on every instance; the code's 'am I in Azure' signal",
    "WEBSITE_AUTH_ENABLED": "set by the platform when App Service authentication (Easy Auth) is turned on",
}

# App settings the Bicep sets that the code does not read (the Functions host, bindings, platform).
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri": "Functions host storage (identity-based)",
    "AzureWebJobsStorage__queueServiceUri": "Functions host storage (identity-based)",
    "AzureWebJobsStorage__tableServiceUri": "Functions host storage (diagnostic events)",
    "AzureWebJobsStorage__credential": "Functions host storage (identity-based)",
    "AzureWebJobsStorage__clientId": "Functions host storage: which user-assigned identity",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "App Insights Entra ID auth for the host (local auth is off)",
    "BACKUP_STORAGE__queueServiceUri": "the record_backup blob trigger's poison queue (binding, not the code)",
}

# The values Azure needs where they differ from the code's local defaults.
AZURE_VALUES = {
    "DOCUMENT_STORE": "cosmos",
    "SECRET_STORE": "keyvault",
    "BACKUP_STORE": "blob",
    "AUTH_MODE": "entra",
    "COSMOS__credential": "managedidentity",
    "BACKUP_STORAGE__credential": "managedidentity",
    "AzureWebJobsStorage__credential": "managedidentity",
}

# Settings the Flex Consumption plan rejects or ignores (deprecated there); none may be set.
FLEX_UNSUPPORTED_SETTINGS = {
    "FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY", "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED", "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTOVERVNET", "WEBSITE_CONTENTSHARE",
    "WEBSITE_DNS_SERVER", "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_SKIP_CONTENTSHARE_VALIDATION", "WEBSITE_VNET_ROUTE_ALL",
}

# The only places a key or connection string may be read, by (file, declaration, property path):
ALLOWED_SECRET_USES = {
    # the Event Grid webhook URL must carry the host's blobs_extension system key (write-only property)
    ("modules/backup-events.bicep", "recordBackup", ("properties", "destination", "properties", "endpointUrl")),
    # the App Insights connection string: an ingestion address, not a secret (local auth is disabled)
    ("main.bicep", "functionApp", ("params", "applicationInsightsConnectionString")),
}

# Azure Verified Modules: params and outputs from each module version's published main.json (vendored by
# scripts/refresh-infra-types.sh; tests/infra/test_azure_types.py checks the values passed).
AVM = {ref.rpartition(":")[0]: {"outputs": set(m["outputs"]), "params": set(m["parameters"])}
       for ref, m in arm_types.avm_modules()["modules"].items()}

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

BICEP_FUNCTIONS = {
    "any", "array", "bool", "int", "string", "json", "base64", "base64ToString", "base64ToJson", "concat",
    "contains", "empty", "endsWith", "first", "format", "guid", "indexOf", "join", "last", "lastIndexOf",
    "length", "newGuid", "padLeft", "replace", "skip", "split", "startsWith", "substring", "take",
    "toLower", "toUpper", "trim", "uniqueString", "uri", "uriComponent", "uriComponentToString", "dataUri",
    "dataUriToString", "coalesce", "union", "intersection", "items", "range", "min", "max", "filter", "map",
    "reduce", "sort", "toObject", "flatten", "objectKeys", "shallowMerge", "tryGet", "resourceGroup",
    "subscription", "tenant", "managementGroup", "deployment", "environment", "resourceId",
    "subscriptionResourceId", "tenantResourceId", "extensionResourceId", "managementGroupResourceId",
    "reference", "listKeys", "pickZones", "providers", "loadFileAsBase64", "loadJsonContent",
    "loadTextContent", "loadYamlContent", "dateTimeAdd", "utcNow", "dateTimeFromEpoch", "dateTimeToEpoch",
    "getSecret", "parseCidr", "cidrSubnet", "cidrHost",
}
BICEP_DECORATORS = {"description", "minLength", "maxLength", "minValue", "maxValue", "allowed", "secure",
                    "metadata", "batchSize", "export", "sealed", "discriminator"}


# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------

def rel(path: Path) -> str:
    return path.resolve().relative_to(INFRA).as_posix()


def main_file() -> bm.BicepFile:
    return bm.load(MAIN)


def main_scope(*, defaults: bool) -> bm.Scope:
    return bm.Scope(main_file(), defaults=defaults)


def module_scope(symbol: str, *, defaults: bool) -> bm.Scope:
    scope = main_scope(defaults=defaults)
    return scope.module_scope(scope.file.modules[symbol])


def the_function_app(defaults: bool = True) -> tuple[bm.Scope, bm.Resource]:
    scope = module_scope("functionApp", defaults=defaults)
    sites = scope.file.resources_of_type("Microsoft.Web/sites")
    assert len(sites) == 1, "functionapp.bicep must declare exactly one Microsoft.Web/sites"
    return scope, sites[0]


def app_settings(defaults: bool = True) -> dict[str, Any]:
    scope, site = the_function_app(defaults)
    items = site.body["properties"]["siteConfig"]["appSettings"]
    assert isinstance(items, list), "appSettings must be a literal list of {name, value} (the tests read it)"
    names = [i["name"] for i in items]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"app settings set twice: {sorted(dupes)}"
    return {i["name"]: scope.eval(i["value"]) for i in items}


def follow(value: Any, scope: bm.Scope | None = None) -> Any:
    """Resolve `module.outputs.x` (local modules of main.bicep) and `resource.name` as far as static."""
    scope = scope or main_scope(defaults=True)
    for _ in range(10):
        if not isinstance(value, bm.Expr) or value.kind != "member_expression":
            return value
        parts = value.text.split(".")
        if len(parts) == 3 and parts[1] == "outputs" and parts[0] in scope.file.modules:
            module = scope.file.modules[parts[0]]
            if module.is_registry:
                return value
            child = scope.module_scope(module)
            output = child.file.outputs[parts[2]]
            scope, value = child, child.eval(output.value)
        elif len(parts) == 2 and parts[1] == "name" and parts[0] in scope.file.resources:
            value = scope.eval(scope.file.resources[parts[0]].body["name"])
        else:
            return value
    return value


def settings_field(alias: str) -> tuple[str, Any]:
    for name, f in Settings.model_fields.items():
        if f.validation_alias == alias:
            return name, f
    raise KeyError(alias)


def expr_text(value: Any) -> str | None:
    return value.text if isinstance(value, bm.Expr) else None


# --------------------------------------------------------------------------------------------------------
# 1. syntax
# --------------------------------------------------------------------------------------------------------

def test_infra_has_the_expected_files():
    names = {rel(p) for p in BICEP_FILES}
    assert {"main.bicep", "modules/storage.bicep", "modules/cosmos.bicep", "modules/keyvault.bicep",
            "modules/functionapp.bicep", "modules/backup-events.bicep"} <= names
    assert (INFRA / "main.parameters.json").is_file()
    assert (ROOT / "azure.yaml").is_file()


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_bicep_file_parses_without_syntax_errors(path: Path):
    tree = bm.parse(path.read_bytes())
    errors = bm.syntax_errors(tree)
    assert not errors, f"{rel(path)}: syntax errors:\n" + "\n".join(errors)
    declarations = [n for n in tree.root_node.named_children if n.type.endswith("_declaration")]
    assert declarations, f"{rel(path)} declares nothing"


BROKEN_SNIPPETS = {
    "unclosed object":
        "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  properties: {\n  }\n",
    "missing value": "param location string =\n",
    "unterminated string": "var a = 'abc\n",
    "missing type in resource": "resource sa = {\n  name: 'x'\n}\n",
    "stray operator": "var x = 1 +\noutput y string = 'a'\n",
    "bad keyword": "paramm location string\n",
    "unclosed call": "var t = toLower('A'\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN_SNIPPETS))
def test_parser_flags_broken_bicep(name: str):
    # If the parser accepted these, the syntax test above could never fail.
    assert bm.syntax_errors(bm.parse(BROKEN_SNIPPETS[name].encode())), f"parser accepted: {name}"


def test_parser_accepts_a_valid_snippet():
    ok = (b"param location string = resourceGroup().location\n"
          b"resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = if (!empty(location)) {\n"
          b"  name: 'st${uniqueString(resourceGroup().id)}'\n  location: location\n  kind: 'StorageV2'\n"
          b"  sku: {\n    name: 'Standard_LRS'\n  }\n}\n"
          b"output endpoint string = sa.properties.primaryEndpoints.blob\n")
    assert bm.syntax_errors(bm.parse(ok)) == []


# --------------------------------------------------------------------------------------------------------
# 1b. what a compiler would catch: undeclared names, module params/outputs, pinned versions
# --------------------------------------------------------------------------------------------------------

def _identifier_problems(bf: bm.BicepFile) -> list[str]:
    declared = bf.symbols | bf.loop_variables | {"az", "sys"}
    problems = []
    decl_types = {"parameter_declaration", "variable_declaration", "output_declaration", "resource_declaration",
                  "module_declaration", "type_declaration"}
    for node in bm.walk(bf.tree.root_node):
        if node.type != "identifier":
            continue
        parent = node.parent
        first = parent.named_children[0] if parent.named_children else None
        name = node.text.decode()
        line = node.start_point[0] + 1
        if parent.type in decl_types and first == node:
            continue  # the declared name
        if parent.type == "object_property" and first == node:
            continue  # a property key
        if parent.type == "for_statement" and name in bf.loop_variables:
            continue
        if parent.type in ("type", "primitive_type") or (parent.parent is not None and parent.parent.type == "type"):
            continue
        if parent.type == "call_expression" and first == node:
            is_decorator = parent.parent is not None and parent.parent.type == "decorator"
            known = BICEP_DECORATORS if is_decorator else BICEP_FUNCTIONS
            if name not in known and not (not is_decorator and re.fullmatch(r"list[A-Z]\w*", name)):
                kind = "decorator" if is_decorator else "function"
                problems.append(f"{rel(bf.path)}:{line}: unknown {kind} {name}()")
            continue
        if name not in declared:
            problems.append(f"{rel(bf.path)}:{line}: '{name}' is not declared")
    return problems


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_every_identifier_is_declared(path: Path):
    assert _identifier_problems(bm.load(path)) == []


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_module_calls_pass_required_and_known_params(path: Path):
    bf = bm.load(path)
    for module in bf.modules.values():
        if module.is_registry:
            m = re.fullmatch(r"br/public:(avm/res/[a-z0-9/-]+):(\d+\.\d+\.\d+)", module.path)
            assert m, f"{module.symbol}: registry modules must be AVM with a pinned x.y.z version: {module.path}"
            known = AVM.get(m.group(1))
            assert known, f"{module.symbol}: {m.group(1)} is not vendored (run scripts/refresh-infra-types.sh)"
            unknown = set(module.params) - known["params"]
            assert not unknown, f"{module.symbol}: params not in {m.group(1)}: {sorted(unknown)}"
            continue
        target = bf.module_file(module)
        assert target.is_file(), f"{module.symbol}: {module.path} does not exist"
        child = bm.load(target)
        required = {n for n, p in child.params.items() if not p.has_default}
        missing = required - set(module.params)
        unknown = set(module.params) - set(child.params)
        assert not missing, f"{module.symbol} ({module.path}): required params not passed: {sorted(missing)}"
        assert not unknown, f"{module.symbol} ({module.path}): params the module does not declare: {sorted(unknown)}"
        assert isinstance(module.body.get("name"), str), f"{module.symbol}: deployment name should be a literal"


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_module_output_references_exist(path: Path):
    bf = bm.load(path)
    for node in bm.walk(bf.tree.root_node):
        if node.type != "member_expression":
            continue
        m = re.fullmatch(r"(\w+)\.outputs\.(\w+)", node.text.decode())
        if not m or m.group(1) not in bf.modules:
            continue
        module = bf.modules[m.group(1)]
        if module.is_registry:
            outputs = AVM[re.fullmatch(r"br/public:(.+):[\d.]+", module.path).group(1)]["outputs"]
        else:
            outputs = set(bm.load(bf.module_file(module)).outputs)
        assert m.group(2) in outputs, f"{rel(path)}: {node.text.decode()}: no such output of {module.path}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_resources_use_dated_api_versions(path: Path):
    for res in bm.load(path).resources.values():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", res.api_version), f"{res.symbol}: {res.api_version!r}"
        if res.api_version.endswith("-preview"):
            # the diagnostic settings API has no GA version newer than this preview
            assert res.type == "Microsoft.Insights/diagnosticSettings", f"{res.symbol}: preview API {res.api_version}"


def test_main_is_resource_group_scoped_and_every_local_module_is_used():
    main = main_file()
    assert main.target_scope == "resourceGroup"
    used = {main.module_file(m) for m in main.modules.values() if not m.is_registry}
    assert used == {p.resolve() for p in BICEP_FILES if p.resolve() != MAIN.resolve()}


# --------------------------------------------------------------------------------------------------------
# 2. settings: code <-> Bicep <-> local.settings.sample.json
# --------------------------------------------------------------------------------------------------------

def test_allow_list_names_are_settings_the_code_reads():
    stale = set(LOCAL_ONLY_OR_OPTIONAL) - set(setting_names())
    assert not stale, f"allow-list names the code no longer reads (remove them here): {sorted(stale)}"


def test_every_code_setting_is_an_app_setting_or_documented_local_only():
    bicep = set(app_settings())
    missing = [n for n in setting_names() if n not in bicep and n not in LOCAL_ONLY_OR_OPTIONAL]
    assert not missing, ("settings the code reads that infra/modules/functionapp.bicep does not set "
                         f"(set them, or document them in LOCAL_ONLY_OR_OPTIONAL): {missing}")


def test_local_only_settings_are_not_set_in_azure():
    leaked = set(LOCAL_ONLY_OR_OPTIONAL) & set(app_settings())
    assert not leaked, f"local-only/optional settings must not be set in Bicep: {sorted(leaked)}"


def test_every_app_setting_is_read_by_the_code_or_the_platform():
    unknown = set(app_settings()) - set(setting_names()) - set(PLATFORM_SETTINGS)
    assert not unknown, f"app settings nothing reads (typo?): {sorted(unknown)}"


def test_no_flex_unsupported_app_settings():
    bad = set(app_settings()) & FLEX_UNSUPPORTED_SETTINGS
    assert not bad, f"settings the Flex Consumption plan does not support: {sorted(bad)}"


def test_azure_values_of_adapter_and_credential_settings():
    settings = app_settings()
    for name, expected in AZURE_VALUES.items():
        assert settings.get(name) == expected, f"{name} = {settings.get(name)!r}, expected {expected!r}"


def test_app_settings_validate_with_the_code_in_azure_mode(monkeypatch: pytest.MonkeyPatch):
    """The settings as deployed (param defaults; runtime values stubbed) pass shared.settings.Settings with
    WEBSITE_INSTANCE_ID set (which refuses local adapters), and every value the Bicep only mirrors equals
    the code default."""
    settings = app_settings()
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    stubbed = {}
    for name, value in settings.items():
        if isinstance(value, bm.Expr):  # known only at deployment (endpoints, client id): a stand-in
            stubbed[name] = value
            value = f"https://stub.invalid/{name}"
        assert isinstance(value, str), f"{name}: app setting values must be strings, got {value!r}"
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "infra-test")
    s = Settings()
    assert s.in_azure
    assert (s.document_store, s.secret_store, s.backup_store, s.auth_mode) == ("cosmos", "keyvault", "blob", "entra")
    mirrored = [n for n in settings if n in setting_names() and n not in AZURE_VALUES and n not in stubbed]
    assert mirrored, "expected the tuning settings to be literal values or param defaults"
    for name in mirrored:
        field_name, f = settings_field(name)
        assert getattr(s, field_name) == f.default, (
            f"{name}: Bicep default {settings[name]!r} differs from the code default {f.default!r}")


def test_runtime_values_come_from_the_deployed_resources():
    settings = app_settings()
    expected = {
        "COSMOS__accountEndpoint": "cosmos.outputs.endpoint",
        "COSMOS__clientId": "identity.outputs.clientId",
        "BACKUP_STORAGE__blobServiceUri": "storage.outputs.blobEndpoint",
        "BACKUP_STORAGE__queueServiceUri": "storage.outputs.queueEndpoint",
        "BACKUP_STORAGE__clientId": "identity.outputs.clientId",
        "KEY_VAULT__vaultUri": "keyVault.outputs.uri",
        "KEY_VAULT__clientId": "identity.outputs.clientId",
        "AzureWebJobsStorage__blobServiceUri": "storage.outputs.blobEndpoint",
        "AzureWebJobsStorage__queueServiceUri": "storage.outputs.queueEndpoint",
        "AzureWebJobsStorage__tableServiceUri": "storage.outputs.tableEndpoint",
        "AzureWebJobsStorage__clientId": "identity.outputs.clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "appInsights.outputs.connectionString",
    }
    for name, source in expected.items():
        assert expr_text(settings.get(name)) == source, f"{name} = {settings.get(name)!r}, expected {source}"
    auth = settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert expr_text(auth) == "Authorization=AAD;ClientId=${identity.outputs.clientId}"
    # ... and those outputs are what their names say
    assert expr_text(follow(bm.Expr("member_expression", "cosmos.outputs.endpoint",
                                    _node("cosmos.outputs.endpoint")))) == "account.properties.documentEndpoint"
    assert expr_text(follow(bm.Expr("member_expression", "keyVault.outputs.uri",
                                    _node("keyVault.outputs.uri")))) == "vault.properties.vaultUri"
    for svc in ("blob", "queue", "table"):
        out = bm.load(INFRA / "modules/storage.bicep").outputs[f"{svc}Endpoint"].value
        assert expr_text(out) == f"storage.properties.primaryEndpoints.{svc}"


def _node(text: str):
    """A tree node for an expression, for building Exprs in tests."""
    tree = bm.parse(f"var x = {text}\n".encode())
    return tree.root_node.named_children[0].named_children[-1]


def test_local_settings_sample_lists_every_setting():
    sample = ROOT / "local.settings.sample.json"
    assert sample.is_file(), "local.settings.sample.json is missing (every setting the code reads belongs there)"
    values = json.loads(sample.read_text())["Values"]
    missing = [n for n in setting_names() if n not in values]
    assert not missing, f"local.settings.sample.json Values lacks: {missing}"


def test_cors_is_the_origins_parameter_on_both_layers():
    scope, site = the_function_app(defaults=False)
    cors = site.body["properties"]["siteConfig"]["cors"]
    assert expr_text(cors["allowedOrigins"]) == "corsAllowedOrigins"
    assert scope.bindings["corsAllowedOrigins"] == bm.Expr("identifier", "corsAllowedOrigins", None)
    assert main_file().params["corsAllowedOrigins"].type == "array"
    setting = app_settings(defaults=False)["CORS_ALLOWED_ORIGINS"]
    assert expr_text(setting) == "join(corsAllowedOrigins, ',')"


def test_sweep_schedule_is_a_six_field_ncrontab_equal_to_the_code_default():
    value = app_settings()["SWEEP_SCHEDULE"]
    assert value == Settings.model_fields["sweep_schedule"].default
    assert len(value.split()) == 6


# --------------------------------------------------------------------------------------------------------
# 2b. names and layout: Cosmos, blob container, trigger connection
# --------------------------------------------------------------------------------------------------------

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
    assert scope.eval(bm.Expr("identifier", "throughputMode", _node("throughputMode"))) == "serverless"


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
        bm.Expr("identifier", "deploymentContainerName", _node("deploymentContainerName")))
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


# --------------------------------------------------------------------------------------------------------
# 3. no secrets; identities and roles
# --------------------------------------------------------------------------------------------------------

SECRET_FUNCTION = re.compile(r"list[A-Z]\w*|getSecret")  # listKeys, listConnectionStrings, listAccountSas, ...
SECRET_MEMBER = re.compile(r"(?i).*(keys?|connectionstrings?|secrets?|passwords?|sas|sastoken|credentials?)")
SECRET_LITERAL = re.compile(r"(?i)AccountKey=|SharedAccessKey=|SharedAccessSignature=|DefaultEndpointsProtocol="
                            r"|[?&]sig=")
SECRET_NAME = re.compile(r"(?i)secret|password|connectionstring|connection_string|accountkey|masterkey|primarykey"
                         r"|sas|token|key(?!_?vault)")


def _secret_uses(bf: bm.BicepFile) -> list[tuple[tuple[str, str, tuple[str, ...]], str]]:
    uses = []
    for node in bm.walk(bf.tree.root_node):
        hit = None
        if node.type == "call_expression":
            callee = node.named_children[0]
            named = callee.named_children[-1] if callee.type == "member_expression" else callee
            name = named.text.decode()
            if SECRET_FUNCTION.fullmatch(name):
                hit = f"{name}()"
        elif node.type == "property_identifier" and SECRET_MEMBER.fullmatch(node.text.decode()):
            hit = f".{node.text.decode()}"
        elif node.type == "string_content" and SECRET_LITERAL.search(node.text.decode()):
            hit = f"literal {node.text.decode()[:40]!r}"
        if hit:
            path, decl = bm.property_path(node)
            uses.append(((rel(bf.path), bm.declaration_symbol(decl), path), hit))
    return uses


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_keys_and_connection_strings_are_read_only_where_documented(path: Path):
    bad = [f"{where} uses {hit}" for where, hit in _secret_uses(bm.load(path)) if where not in ALLOWED_SECRET_USES]
    assert not bad, "\n".join(bad)


def test_the_documented_secret_uses_are_real():
    # keeps ALLOWED_SECRET_USES honest: each entry is used, and the webhook key is the listKeys one
    seen = {where: hit for p in BICEP_FILES for where, hit in _secret_uses(bm.load(p))}
    assert set(ALLOWED_SECRET_USES) <= set(seen), set(ALLOWED_SECRET_USES) - set(seen)


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_outputs_are_names_and_endpoints_only(path: Path):
    bf = bm.load(path)
    for out in bf.outputs.values():
        assert not SECRET_NAME.search(out.name), f"{rel(path)}: output {out.name} looks like a secret"
        assert "secure" not in out.decorators
        for node in bm.walk(out.node):
            assert not (node.type == "call_expression" and SECRET_FUNCTION.fullmatch(
                node.named_children[0].text.decode().split(".")[-1])), f"{out.name}: {node.text.decode()}"
            if node.type == "property_identifier":
                assert not SECRET_MEMBER.fullmatch(node.text.decode()), \
                    f"{rel(path)}: output {out.name}: {out.node.text.decode()}"


def test_app_settings_hold_no_keys_or_connection_strings():
    settings = app_settings()
    for name, value in settings.items():
        assert name not in ("AzureWebJobsStorage", "COSMOS", "BACKUP_STORAGE", "KEY_VAULT"), \
            f"{name}: connection-string form; use the identity-based {name}__* settings"
        if re.search(r"(?i)connection_?string|accountkey|__key$|sas", name):
            assert name == "APPLICATIONINSIGHTS_CONNECTION_STRING", name
        text = value.text if isinstance(value, bm.Expr) else str(value)
        assert not SECRET_LITERAL.search(text), f"{name}: {text}"
        assert not re.search(r"list[A-Z]\w*\(|\.(primary|secondary)\w*Key|connectionStrings", text), f"{name}: {text}"
    for prefix in ("COSMOS", "BACKUP_STORAGE", "AzureWebJobsStorage"):
        assert settings[f"{prefix}__credential"] == "managedidentity"


def test_local_auth_is_disabled_everywhere():
    main = main_file()
    appi = main.modules["appInsights"]
    assert appi.path.startswith("br/public:avm/res/insights/component:")
    assert appi.params["disableLocalAuth"] is True
    assert expr_text(appi.params["workspaceResourceId"]) == "logAnalytics.id"
    kv_scope = module_scope("keyVault", defaults=True)
    (vault,) = kv_scope.file.resources_of_type("Microsoft.KeyVault/vaults")
    props = kv_scope.eval(vault.body["properties"])
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True and props["enablePurgeProtection"] is True
    assert "accessPolicies" not in props
    # Cosmos (disableLocalAuth) and storage (allowSharedKeyAccess) are checked above


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


# --------------------------------------------------------------------------------------------------------
# azd: parameters file and azure.yaml
# --------------------------------------------------------------------------------------------------------

def test_parameters_file_matches_main_bicep():
    data = json.loads((INFRA / "main.parameters.json").read_text())
    assert "deploymentParameters.json" in data["$schema"]
    params = data["parameters"]
    main = main_file()
    assert set(params) <= set(main.params), f"unknown params: {set(params) - set(main.params)}"
    required = {n for n, p in main.params.items() if not p.has_default}
    assert required <= set(params), f"required params missing: {required - set(params)}"
    assert params["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert params["location"]["value"] == "${AZURE_LOCATION}"
    assert params["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    assert params["enableBackupEventSubscription"]["value"] == "${ENABLE_BACKUP_EVENT_SUBSCRIPTION=false}"
    assert isinstance(params["corsAllowedOrigins"]["value"], list)
    assert main.params["location"].decorator("metadata") == [{"azd": {"type": "location"}}]


def test_azure_yaml_declares_the_api_function_service():
    # azure.yaml is a small, flat YAML file; read it by indentation (no YAML library in the dev deps).
    lines = [ln for ln in (ROOT / "azure.yaml").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    tree: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, tree)]
    for ln in lines:
        indent = len(ln) - len(ln.lstrip())
        key, _, value = ln.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        if value.strip():
            stack[-1][1][key] = value.strip()
        else:
            stack[-1][1][key] = {}
            stack.append((indent, stack[-1][1][key]))
    assert tree["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert tree["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    hook = tree["hooks"]["postdeploy"]["posix"]["run"]
    assert (ROOT / hook).is_file()
    assert "ENABLE_BACKUP_EVENT_SUBSCRIPTION" in (ROOT / hook).read_text()
    assert (ROOT / tree["hooks"]["postdeploy"]["windows"]["run"]).is_file()
