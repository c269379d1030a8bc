"""infra/ Bicep syntax, and what a compiler would catch: undeclared names, module params and outputs, pinned
versions. No Bicep compiler runs here (its CLI downloads a binary): the files are parsed with tree-sitter-bicep."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra import arm_types, bicep_model as bm
from tests.infra.project_infra import BICEP_FILES, INFRA, MAIN, ROOT, main_file, rel

# Azure Verified Modules: params and outputs from each module version's published main.json (vendored by
# scripts/refresh-infra-types.sh; tests/infra/test_azure_types.py checks the values passed).
AVM = {ref.rpartition(":")[0]: {"outputs": set(m["outputs"]), "params": set(m["parameters"])}
       for ref, m in arm_types.avm_modules()["modules"].items()}

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
# syntax
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
