"""infra/ against Azure's own definitions (vendored in tests/infra/data/, refreshed by
scripts/refresh-infra-types.sh): resource types and properties, AVM module parameters, and the JSON schemas
of azure.yaml, host.json and local.settings.json. A checker that passes everything proves nothing, so the
planted-typo tests below show it catches each kind of mistake, at random places too.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from . import arm_types as at, bicep_model as bm

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
SCHEMAS = at.DATA / "schemas"

# Used API versions that are not the newest GA version in the vendored snapshot, and why.
NOT_NEWEST = {
    "microsoft.insights/diagnosticsettings": "no GA version newer than 2021-05-01-preview exists",
}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def check_source(source: bytes, path: Path) -> at.Report:
    return at.check_file(bm.loads(source, path))


# --- the real files -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_bicep_file_matches_azure_resource_types(path: Path):
    report = at.check_file(bm.load(path))
    assert report.problems == []


def test_type_check_covers_every_resource_and_hundreds_of_keys():
    report = at.Report()
    for path in BICEP_FILES:
        at.check_file(bm.load(path), report)
    assert report.problems == []
    assert report.resources >= 32 and report.keys >= 400, (report.resources, report.keys)


def _ga(versions: list[str]) -> list[str]:
    return [v for v in versions if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)]


def test_api_versions_are_the_newest_ga_in_the_vendored_definitions():
    data = at.azure_types()
    behind = []
    for path in BICEP_FILES:
        for res in bm.load(path).resources.values():
            known = _ga(data["versions"][res.type.lower()])
            if res.api_version != known[-1] and res.type.lower() not in NOT_NEWEST:
                behind.append(f"{rel(path)}:{res.symbol} {res.type}@{res.api_version} (newest {known[-1]})")
    assert behind == []


def test_avm_modules_are_the_newest_release():
    data = at.avm_modules()
    for path in BICEP_FILES:
        for mod in bm.load(path).modules.values():
            if mod.is_registry:
                ref, _, version = mod.path[len("br/public:"):].rpartition(":")
                assert version == data["latest"][ref], f"{mod.symbol}: {ref}:{version}, newest {data['latest'][ref]}"


def test_vendored_data_names_its_sources():
    assert re.fullmatch(r"[0-9a-f]{40}", at.azure_types()["source"]["commit"])
    assert at.azure_types()["source"]["repo"] == "Azure/bicep-types-az"
    for ref, mod in at.avm_modules()["modules"].items():
        assert re.fullmatch(r"[0-9a-f]{40}", mod["commit"]), ref
    sources = json.loads((SCHEMAS / "SOURCES.json").read_text())
    for name in ("azure.yaml.json", "host.json", "local.settings.json"):
        assert re.fullmatch(r"[0-9a-f]{40}", sources[name]["commit"]), name


# --- JSON schemas ---------------------------------------------------------------------------------------

def _validator(name: str):
    refs = json.loads((SCHEMAS / "SOURCES.json").read_text())["remote_refs"]

    def retrieve(uri: str):
        if uri not in refs:  # never fetched at test time: a new remote ref needs a refresh
            raise KeyError(f"{uri} is not vendored; run scripts/refresh-infra-types.sh")
        return json.loads((SCHEMAS / refs[uri]).read_text())

    return jsonschema_rs.validator_for(json.loads((SCHEMAS / name).read_text()), retriever=retrieve)


CONFIG_FILES = {  # file -> (schema, loader)
    "azure.yaml": ("azure.yaml.json", lambda p: yaml.safe_load(p.read_text())),
    "host.json": ("host.json", lambda p: json.loads(p.read_text())),
    "local.settings.sample.json": ("local.settings.json", lambda p: json.loads(p.read_text())),
}


@pytest.mark.parametrize("name", sorted(CONFIG_FILES))
def test_config_file_matches_its_schema(name: str):
    schema, load = CONFIG_FILES[name]
    errors = [f"{e.instance_path}: {e.message}" for e in _validator(schema).iter_errors(load(ROOT / name))]
    assert errors == []


BROKEN_CONFIGS = [  # (file, what, mutate(data)); the schemas accept unknown keys and hosts in places
    ("azure.yaml", "no name", lambda d: d.pop("name")),
    ("azure.yaml", "project not a path", lambda d: d["services"]["api"].__setitem__("project", 3)),
    ("azure.yaml", "hook event misspelled",
     lambda d: d["hooks"].__setitem__("postdeplyo", d["hooks"].pop("postdeploy"))),
    ("azure.yaml", "hook shell", lambda d: d["hooks"]["postdeploy"]["posix"].__setitem__("shell", "zsh")),
    ("azure.yaml", "hook flag type", lambda d: d["hooks"]["postdeploy"]["posix"].__setitem__("continueOnError", "no")),
    ("host.json", "version", lambda d: d.__setitem__("version", "3.0")),
    ("host.json", "non-numeric concurrency",
     lambda d: d["extensions"]["http"].__setitem__("maxConcurrentRequests", "many")),
    ("host.json", "misspelled http setting", lambda d: d["extensions"]["http"].__setitem__("maxConcurentRequests", 1)),
    ("host.json", "log level", lambda d: d["logging"]["logLevel"].__setitem__("default", "Verbose")),
    ("host.json", "timeout format", lambda d: d.__setitem__("functionTimeout", "ten minutes")),
    ("local.settings.sample.json", "IsEncrypted type", lambda d: d.__setitem__("IsEncrypted", "no")),
    ("local.settings.sample.json", "CORS type", lambda d: d.__setitem__("Host", {"CORS": 5})),
]


@pytest.mark.parametrize("name,what,mutate", BROKEN_CONFIGS, ids=[f"{n}:{w}" for n, w, _ in BROKEN_CONFIGS])
def test_schema_check_catches_broken_config(name: str, what: str, mutate):
    schema, load = CONFIG_FILES[name]
    data = load(ROOT / name)
    mutate(data)
    assert not _validator(schema).is_valid(data), what


# --- planted typos: the checker must catch each kind ------------------------------------------------------

PLANTED = [  # (file, old text, new text, expected problem fragment)
    ("modules/functionapp.bicep", "Microsoft.Web/sites@2025-03-01' = {", "Microsoft.Web/sites@2025-03-02' = {",
     "no such resource type at this API version"),
    ("modules/functionapp.bicep", "'Microsoft.Web/serverfarms@", "'Microsoft.Web/serverfarm@", "unknown type"),
    ("modules/functionapp.bicep", "httpsOnly: true", "httpOnly: true", "no such property"),
    ("modules/functionapp.bicep", "maximumInstanceCount: maximumInstanceCount",
     "maximumInstancesCount: maximumInstanceCount", "no such property"),
    ("modules/functionapp.bicep", "name: 'python'", "name: 'pyhton'", "is not one of"),
    ("modules/functionapp.bicep", "ftpsState: 'Disabled'", "ftpsState: 'Off'", "is not one of"),
    ("modules/functionapp.bicep", "httpsOnly: true", "httpsOnly: 'true'", "expected a bool"),
    ("modules/functionapp.bicep", "httpsOnly: true", "httpsOnly: true\n    defaultHostName: 'x'", "read-only"),
    ("modules/cosmos.bicep", "defaultConsistencyLevel: 'Session'", "defaultConsistencyLevel: 'Sesion'",
     "is not one of"),
    ("modules/cosmos.bicep", "kind: 'MultiHash'", "kind: 'Multihash'", "is not one of"),
    ("modules/cosmos.bicep", "path: '/type/?'", "paht: '/type/?'", "no such property"),
    ("modules/cosmos.bicep", "failoverPriority: 0", "failoverPriority: -1", "below the minimum"),
    ("modules/cosmos.bicep", "maxThroughput: autoscaleMaxThroughput", "maxThroughPut: autoscaleMaxThroughput",
     "spelled"),
    ("modules/keyvault.bicep", "family: 'A'", "family: 'B'", "is not"),
    ("modules/keyvault.bicep", "enablePurgeProtection: true",
     "enablePurgeProtection: true\n    hsmPoolResourceId: 'x'",
     "read-only"),
    ("modules/keyvault.bicep", "categoryGroup: 'audit'", "category_group: 'audit'", "no such property"),
    ("modules/storage.bicep", "kind: 'StorageV2'", "kind: 'StorageV3'", "is not one of"),
    ("modules/storage.bicep", "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_4'", "is not one of"),
    ("modules/storage.bicep", "days: 7\n      }\n      containerDeleteRetentionPolicy",
     "days: 400\n      }\n      containerDeleteRetentionPolicy", "above the maximum"),
    ("modules/storage.bicep", "type: 'Lifecycle'", "type: 'LifeCycle'", "is not"),
    ("modules/backup-events.bicep", "maxDeliveryAttempts: 30", "maxDeliveryAttempts: '30'", "expected an integer"),
    ("modules/storage.bicep", "supportsHttpsTrafficOnly: true",
     "supportsHttpsTrafficOnly: true\n    primaryLocation: 'x'", "read-only"),
    ("modules/backup-events.bicep", "endpointType: 'WebHook'", "endpointType: 'Webhook'", "is not one of"),
    ("main.bicep", "retentionInDays: logRetentionDays", "retentionInDay: logRetentionDays", "no such property"),
    ("main.bicep", "name: 'PerGB2018'", "name: 'PerGB2019'", "is not one of"),
    ("main.bicep", "disableLocalAuth: true", "disableLocalAuths: true", "no such parameter"),
    ("main.bicep", "applicationType: 'web'", "applicationType: 'webapp'", "is not one of"),
    ("main.bicep", "principalType: 'ServicePrincipal'\n      }", "principalTyp: 'ServicePrincipal'\n      }",
     "no such property"),
    ("main.bicep", "user-assigned-identity:0.6.0", "user-assigned-identity:0.6.9", "no vendored definition"),
    ("modules/network.bicep", "registrationEnabled: false", "registrationEnable: false", "no such property"),
    ("modules/network.bicep", "privateEndpointNetworkPolicies: 'Disabled'",
     "privateEndpointNetworkPolicies: 'Off'", "is not one of"),
    ("modules/network.bicep", "groupIds: [", "groupId: [", "no such property"),
    ("modules/alerts.bicep", "timeAggregation: 'Count'", "timeAggregation: 'Cnt'", "is not one of"),
    ("modules/alerts.bicep", "operator: 'GreaterThan'", "operator: 'Greater'", "is not one of"),
    ("modules/alerts.bicep", "groupShortName: 'migration'", "groupShortName: 'localstorage-migration'",
     "longer than"),
    ("modules/alerts.bicep", "kind: 'LogAlert'", "kind: 'LogAlerts'", "is not one of"),
]


@pytest.mark.parametrize("file,old,new,expected", PLANTED, ids=[f"{f}:{n.strip()[:40]}" for f, _, n, _ in PLANTED])
def test_checker_catches_planted_typo(file: str, old: str, new: str, expected: str):
    path = INFRA / file
    source = path.read_text()
    assert source.count(old) >= 1, f"planted text not found in {file}: {old!r}"
    report = check_source(source.replace(old, new, 1).encode(), path)
    assert any(expected in p for p in report.problems), report.problems


def _checked_keys() -> list[tuple[Path, int, int, str]]:
    """(file, start, end, key) of every literal property key the checker reaches: keys in resource bodies,
    outside function calls (not evaluated), dictionaries (any key is valid) and Bicep-only keywords."""
    out = []
    for path in BICEP_FILES:
        bf = bm.load(path)
        for res in bf.resources.values():
            if res.existing:
                continue
            for node in bm.walk(res.node):
                if node.type != "object_property":
                    continue
                key = node.named_children[0]
                if key.type != "identifier":
                    continue
                keys, ancestors = [], []
                cur = node
                while cur is not None and cur != res.node:
                    ancestors.append(cur.type)
                    if cur.type == "object_property":
                        keys.append(cur.named_children[0].text.decode())
                    cur = cur.parent
                depth_in_body = len([a for a in ancestors if a == "object_property"])
                if ("call_expression" in ancestors or "resource_declaration" in ancestors
                        or {"tags", "userAssignedIdentities"} & set(keys)
                        or (depth_in_body == 1 and key.text.decode() in at.BICEP_ONLY_KEYS)):
                    continue
                out.append((path, key.start_byte, key.end_byte, key.text.decode()))
    return out


# Keys inside objects Azure's type data leaves open (any property accepted): no checker can see a typo there.
OPEN_OBJECT_KEYS = {
    "enableLogAccessUsingOnlyResourcePermissions": "Log Analytics workspace `features` accepts any property",
}
CHECKED_KEYS = [k for k in _checked_keys() if k[3] not in OPEN_OBJECT_KEYS]


def _mutate(key: str, op: int, pos: int, letter: str) -> str:
    i = pos % len(key)
    if op == 0 and len(key) > 1:
        return key[:i] + key[i + 1:]                      # a letter dropped
    if op == 1:
        return key[:i] + letter + key[i:]                 # a letter added
    if op == 2 and len(key) > 1:
        j = min(i + 1, len(key) - 1) if i + 1 < len(key) else i - 1
        a, b = sorted((i, j))
        return key[:a] + key[b] + key[a] + key[b + 1:]    # two letters swapped
    return key[:i] + letter + key[i + 1:]                 # a letter replaced


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(min_value=0), op=st.integers(0, 3), pos=st.integers(0, 64),
       letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
def test_checker_catches_a_misspelled_property_anywhere(which: int, op: int, pos: int, letter: str):
    path, start, end, key = CHECKED_KEYS[which % len(CHECKED_KEYS)]
    typo = _mutate(key, op, pos, letter)
    if typo == key:
        return
    source = path.read_bytes()
    report = check_source(source[:start] + typo.encode() + source[end:], path)
    assert report.problems, f"{rel(path)}: {key} -> {typo} not caught"


def test_misspelling_sample_covers_every_file():
    assert {p for p, *_ in CHECKED_KEYS} == set(BICEP_FILES)
    assert len(CHECKED_KEYS) > 150
