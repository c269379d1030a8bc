"""infra/ holds no secrets: keys and connection strings are read only where documented, outputs are names and
endpoints, app settings are identity-based, and local (key) auth is off."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra import bicep_model as bm
from tests.infra.project_infra import BICEP_FILES, app_settings, expr_text, main_file, module_scope, rel

# The only places a key or connection string may be read, by (file, declaration, property path):
ALLOWED_SECRET_USES = {
    # the Event Grid webhook URL must carry the host's blobs_extension system key (write-only property)
    ("modules/backup-events.bicep", "recordBackup", ("properties", "destination", "properties", "endpointUrl")),
    # the App Insights connection string: an ingestion address, not a secret (local auth is disabled)
    ("main.bicep", "functionApp", ("params", "applicationInsightsConnectionString")),
}

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
    # Cosmos (disableLocalAuth) and storage (allowSharedKeyAccess): test_bicep_layout.py
