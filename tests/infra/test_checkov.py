"""checkov's Bicep posture scan over infra/, against a reviewed baseline.

checkov lives in its own venv (.venv-checkov, scripts/install-checkov.sh, pinned): its dependency tree
conflicts with the app's pins. A missing install fails here (CI installs it through scripts/bootstrap.sh).
Every accepted finding carries its reason; a new finding, or a baseline entry that no longer fails (stale),
fails the test.
"""
from __future__ import annotations

import json
import subprocess
from functools import lru_cache

from tests.infra.project_infra import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# (file, resource, check id) -> why it is accepted
NETWORK = ("public network access is conditional (networkIsolation: on for prod* environments, private "
           "endpoints, public access off; tests/infra/test_network.py); checkov does not evaluate the condition")
ACCEPTED = {
    ("/modules/cosmos.bicep", "Microsoft.DocumentDB/databaseAccounts.account", "CKV_AZURE_101"): NETWORK,
    ("/modules/cosmos.bicep", "Microsoft.DocumentDB/databaseAccounts.account", "CKV_AZURE_99"): NETWORK,
    ("/modules/keyvault.bicep", "Microsoft.KeyVault/vaults.vault", "CKV_AZURE_109"): NETWORK,
    ("/modules/storage.bicep", "Microsoft.Storage/storageAccounts.storage", "CKV_AZURE_35"): NETWORK,
    ("/modules/storage.bicep", "Microsoft.Storage/storageAccounts.storage", "CKV_AZURE_206"):
        "Standard_LRS: backups are a second copy of data whose system of record is Cosmos DB (and the browser); "
        "ZRS is not offered in every Flex Consumption region",
    ("/modules/functionapp.bicep", "Microsoft.Web/sites.functionApp", "CKV_AZURE_222"):
        "the API is called from users' browsers: its inbound endpoint is public by design (bearer tokens)",
    ("/modules/functionapp.bicep", "Microsoft.Web/sites.functionApp", "CKV_AZURE_17"):
        "browsers authenticate with Entra ID bearer tokens, not client certificates",
    ("/modules/functionapp.bicep", "Microsoft.Web/sites.functionApp", "CKV_AZURE_212"):
        "Flex Consumption scales from zero per request; always-ready instances are a cost choice, not set here",
    ("/modules/functionapp.bicep", "Microsoft.Web/sites.functionApp", "CKV_AZURE_213"):
        "App Service health check does not apply to Flex Consumption; /api/health serves external probes",
    ("/modules/functionapp.bicep", "Microsoft.Web/serverfarms.plan", "CKV_AZURE_225"):
        "the FC1 plan's zone redundancy depends on the region; not forced in the template",
}


@lru_cache(maxsize=None)
def _scan() -> dict:
    assert CHECKOV.exists(), "checkov is not installed: run bash scripts/install-checkov.sh"
    out = subprocess.run([str(CHECKOV), "-d", str(ROOT / "infra"), "--framework", "bicep", "--skip-download",
                          "-o", "json", "--quiet"], capture_output=True, text=True, timeout=300)
    data = json.loads(out.stdout)
    return data[0] if isinstance(data, list) else data


def test_checkov_parses_every_bicep_file():
    scan = _scan()
    assert scan["summary"]["parsing_errors"] == 0
    assert scan["summary"]["resource_count"] > 0 and scan["summary"]["passed"] > 0


def test_checkov_finds_nothing_beyond_the_reviewed_baseline():
    failed = {(f["file_path"], f["resource"], f["check_id"]) for f in _scan()["results"]["failed_checks"]}
    assert sorted(failed - set(ACCEPTED)) == [], "new posture findings: fix them or review them into ACCEPTED"
    assert sorted(set(ACCEPTED) - failed) == [], "baseline entries that pass now: remove them"
