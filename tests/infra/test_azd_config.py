"""The azd configuration: infra/main.parameters.json against main.bicep's params, and azure.yaml (service,
infra, hooks) pinned exactly (its schema accepts any host or language)."""
from __future__ import annotations

import json
from typing import Any

from tests.infra.project_infra import INFRA, ROOT, main_file


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
