"""local.settings.sample.json works for `func start` as copied: what Core Tools reads outside `Values`."""
import json
from pathlib import Path

SAMPLE = json.loads((Path(__file__).resolve().parents[2] / "local.settings.sample.json").read_text())


def test_core_tools_gets_cors_and_port_from_host():
    host, values = SAMPLE["Host"], SAMPLE["Values"]
    # Core Tools ignores CORS_ALLOWED_ORIGINS: the same origins must be in Host.CORS, or browsers are refused.
    assert host["CORS"].split(",") == values["CORS_ALLOWED_ORIGINS"].split(",")
    assert "*" not in host["CORS"] and host["CORSCredentials"] is False
    assert host["LocalHttpPort"] == 7071  # the README's URLs


def test_host_storage_and_indexing_for_the_v2_model():
    values = SAMPLE["Values"]
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"  # scripts/azurite.sh: blob, queue, table
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert "EnableWorkerIndexing" in values["AzureWebJobsFeatureFlags"]
