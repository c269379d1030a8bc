"""Flex Consumption sizing: per-instance HTTP concurrency, host.json and MIGRATION_CONCURRENCY agree, and
the instance memory holds the worst case they admit; cloud-specific hosts come from environment()."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra import bicep_model as bm
from tests.infra.project_infra import BICEP_FILES, ROOT, app_settings, main_file, module_scope, rel

MIB = 1024 * 1024
# Peak memory of one request of the worst body within the limits, in MB, measured: `python -m bench.run
# --scenario hostile` (2026-12-02 17:51 UTC, commit b889b5f) peaks at 449 MB VmHWM for a 31 MB body at the
# documents limit, in a local host that idles at 70 MB (README "Bounds").
PEAK_MB_PER_MIGRATION = 450
HOST_BASELINE_MB = 220   # the Python worker idle (69 MB measured) + the Functions host process (estimate)
HEADROOM = 0.9           # never plan past 90 % of the instance: the platform recycles at its limit


def _flex_config() -> tuple[dict, dict]:
    scope = module_scope("functionApp", defaults=True)
    (site,) = scope.file.resources_of_type("Microsoft.Web/sites")
    return scope.eval(site.body["properties"]["functionAppConfig"]["scaleAndConcurrency"]), scope.bindings


def _host_http() -> dict:
    return json.loads((ROOT / "host.json").read_text())["extensions"]["http"]


def _main_default(name: str):
    return main_file().params[name].default


def test_per_instance_http_concurrency_is_set_and_equals_host_json():
    scale, _ = _flex_config()
    concurrency = scale["triggers"]["http"]["perInstanceConcurrency"]
    assert concurrency == _main_default("functionHttpPerInstanceConcurrency")
    assert concurrency > 1, "Flex defaults Python apps to 1 request per instance: one cold start per user"
    # More than the host admits would queue inside the instance instead of scaling out; fewer leaves
    # the host's limit unreachable.
    assert concurrency == _host_http()["maxConcurrentRequests"]


def test_one_instance_can_fill_its_migration_slots():
    scale, _ = _flex_config()
    slots = int(app_settings()["MIGRATION_CONCURRENCY"])
    assert 1 <= slots <= scale["triggers"]["http"]["perInstanceConcurrency"]


def test_instance_memory_holds_the_admitted_worst_case():
    scale, _ = _flex_config()
    settings = app_settings()
    concurrency = scale["triggers"]["http"]["perInstanceConcurrency"]
    slots = int(settings["MIGRATION_CONCURRENCY"])
    body_mb = int(settings["MAX_BODY_BYTES"]) / MIB
    # `slots` migrations at their peak; every other admitted request waits for a slot holding its raw body.
    worst = HOST_BASELINE_MB + slots * PEAK_MB_PER_MIGRATION + (concurrency - slots) * body_mb
    assert worst <= scale["instanceMemoryMB"] * HEADROOM, (worst, scale["instanceMemoryMB"])
    assert scale["instanceMemoryMB"] == _main_default("functionInstanceMemoryMB")


@pytest.mark.parametrize("concurrency,memory", [(32, 2048), (8, 2048), (4, 2048), (16, 512)])
def test_the_budget_refuses_combinations_that_do_not_fit(concurrency: int, memory: int):
    settings = app_settings()
    slots = int(settings["MIGRATION_CONCURRENCY"])
    body_mb = int(settings["MAX_BODY_BYTES"]) / MIB
    worst = HOST_BASELINE_MB + slots * PEAK_MB_PER_MIGRATION + (concurrency - slots) * body_mb
    assert worst > memory * HEADROOM


# Hosts that differ per Azure cloud: take them from environment() (or the resources' own properties).
CLOUD_HOSTS = re.compile(r"login\.microsoftonline\.com|login\.windows\.net|management\.azure\.com|"
                         r"\.core\.windows\.net|\.vault\.azure\.net|\.documents\.azure\.com|\.azurewebsites\.net")
CLOUD_HOST_EXCEPTIONS = {
    # No environment() suffix exists for Cosmos DB's private DNS zone; this template targets the public
    # cloud for it (US Gov: privatelink.documents.azure.us).
    "privatelink.documents.azure.com",
}


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_no_cloud_specific_host_is_hard_coded(path: Path):
    bf = bm.load(path)
    found = []
    for node in bm.walk(bf.tree.root_node):
        if node.type == "string_content" or (node.type == "string" and bm.string_is_literal(node)):
            text = node.text.decode()
            if CLOUD_HOSTS.search(text) and not any(e in text for e in CLOUD_HOST_EXCEPTIONS):
                found.append(f"{node.start_point[0] + 1}: {text}")
    assert found == []


def test_auth_defaults_follow_the_cloud():
    main = main_file()
    for name, tail in (("authIssuer", "{tid}/v2.0"), ("authJwksUrl", "common/discovery/v2.0/keys")):
        default = main.params[name].default
        assert isinstance(default, bm.Expr)
        assert default.text == "'${environment().authentication.loginEndpoint}" + tail + "'"
