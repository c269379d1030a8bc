"""infra/ app settings against the code: every setting the code reads is set (or documented as local-only),
every app setting is read, Azure's values validate with shared.settings, and local.settings.sample.json lists
them all."""
from __future__ import annotations

import json
from typing import Any

import pytest

from shared.settings import Settings, setting_names
from tests.infra import bicep_model as bm
from tests.infra.project_infra import (
    INFRA,
    ROOT,
    app_settings,
    expr_text,
    expression_node,
    follow,
    main_file,
    the_function_app,
)

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


def settings_field(alias: str) -> tuple[str, Any]:
    for name, f in Settings.model_fields.items():
        if f.validation_alias == alias:
            return name, f
    raise KeyError(alias)


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
    cosmos_endpoint = bm.Expr("member_expression", "cosmos.outputs.endpoint",
                              expression_node("cosmos.outputs.endpoint"))
    assert expr_text(follow(cosmos_endpoint)) == "account.properties.documentEndpoint"
    assert expr_text(follow(bm.Expr("member_expression", "keyVault.outputs.uri",
                                    expression_node("keyVault.outputs.uri")))) == "vault.properties.vaultUri"
    for svc in ("blob", "queue", "table"):
        out = bm.load(INFRA / "modules/storage.bicep").outputs[f"{svc}Endpoint"].value
        assert expr_text(out) == f"storage.properties.primaryEndpoints.{svc}"


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
