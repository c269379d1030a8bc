"""Network isolation (main.bicep networkIsolation): which environments get it, and what it changes.

The Bicep expressions themselves are evaluated (bicep_model.Scope), with the parameters bound per case."""
from __future__ import annotations

import json

import pytest

from tests.infra import bicep_model as bm
from tests.infra.project_infra import INFRA, app_settings, expr_text, main_file

DATA_MODULES = {  # main.bicep module symbol -> (resource type, isolation properties when on / off)
    "cosmos": ("Microsoft.DocumentDB/databaseAccounts", {"publicNetworkAccess": ("Disabled", "Enabled")}),
    "keyVault": ("Microsoft.KeyVault/vaults", {"publicNetworkAccess": ("Disabled", "Enabled"),
                                               "networkAcls.defaultAction": ("Deny", "Allow")}),
    "storage": ("Microsoft.Storage/storageAccounts", {"publicNetworkAccess": ("Disabled", "Enabled"),
                                                      "networkAcls.defaultAction": ("Deny", "Allow")}),
}


def _isolated(environment: str, setting: str) -> bool:
    main = main_file()
    scope = bm.Scope(main, {"environmentName": environment, "networkIsolation": setting})
    value = scope.eval(main.variables["isolated"].value)
    assert isinstance(value, bool), value
    return value


@pytest.mark.parametrize("environment,setting,expected", [
    ("prod", "auto", True), ("Production", "auto", True), ("prod-westeurope", "auto", True),
    ("dev", "auto", False), ("staging", "auto", False), ("myprod", "auto", False),
    ("dev", "on", True), ("prod", "off", False), ("prod", "on", True),
])
def test_which_environments_are_isolated(environment: str, setting: str, expected: bool):
    assert _isolated(environment, setting) is expected


def test_isolation_is_an_azd_parameter_defaulting_to_auto():
    main = main_file()
    param = main.params["networkIsolation"]
    assert param.default == "auto" and param.decorator("allowed") == [["auto", "on", "off"]]
    params = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert params["networkIsolation"]["value"] == "${NETWORK_ISOLATION=auto}"
    for symbol in DATA_MODULES:
        assert expr_text(main.modules[symbol].params["isolated"]) == "isolated"
    assert main.modules["network"].condition.text == "(isolated)"


def _get(props: dict, dotted: str):
    for part in dotted.split("."):
        props = props[part]
    return props


@pytest.mark.parametrize("symbol", sorted(DATA_MODULES))
@pytest.mark.parametrize("isolated", [True, False])
def test_public_network_access_follows_isolation(symbol: str, isolated: bool):
    rtype, expected = DATA_MODULES[symbol]
    main = main_file()
    child = bm.load(main.module_file(main.modules[symbol]))
    (res,) = child.resources_of_type(rtype)
    props = bm.Scope(child, {"isolated": isolated}, defaults=False).eval(res.body["properties"])
    for dotted, (on, off) in expected.items():
        assert _get(props, dotted) == (on if isolated else off), dotted


def _network() -> tuple[bm.BicepFile, bm.Scope]:
    main = main_file()
    net = bm.load(main.module_file(main.modules["network"]))
    return net, bm.Scope(net, {}, defaults=True)


def test_every_service_the_app_reaches_has_a_private_endpoint_and_zone():
    net, scope = _network()
    endpoints = scope.eval(net.variables["endpoints"].value)
    by_group = {e["groupId"]: e for e in endpoints}
    # Storage sub-resources the app and the Functions host use, from the identity-based app settings.
    used = {name.split("__")[1].removesuffix("ServiceUri") for name in app_settings()
            if name.endswith("ServiceUri")}
    assert used == {"blob", "queue", "table"}
    assert used | {"Sql", "vault"} == set(by_group) and len(endpoints) == len(by_group)
    target_param = {"Sql": "cosmosAccountId", "vault": "keyVaultId", **{g: "storageAccountId" for g in used}}
    passed = main_file().modules["network"].params
    assert {g: expr_text(passed[target_param[g]]) for g in by_group} == {
        "Sql": "cosmos.outputs.resourceId", "vault": "keyVault.outputs.resourceId",
        **{g: "storage.outputs.resourceId" for g in used}}
    for g, e in by_group.items():
        assert expr_text(e["target"]) == target_param[g]
    assert by_group["Sql"]["zone"] == "privatelink.documents.azure.com"
    assert expr_text(by_group["vault"]["zone"]) == \
        "privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}"
    for g in used:
        assert expr_text(by_group[g]["zone"]) == "privatelink." + g + ".${environment().suffixes.storage}"


def test_app_subnet_is_delegated_to_flex_and_the_app_uses_it():
    net, scope = _network()
    (vnet,) = net.resources_of_type("Microsoft.Network/virtualNetworks")
    subnets = scope.eval(vnet.body["properties"]["subnets"])
    assert [s["name"] for s in subnets] == ["app", "private-endpoints"]
    assert subnets[0]["properties"]["delegations"][0]["properties"]["serviceName"] == "Microsoft.App/environments"
    assert net.outputs["appSubnetId"].value.text == "vnet.properties.subnets[0].id"
    main = main_file()
    assert expr_text(main.modules["functionApp"].params["appSubnetId"]) == \
        "isolated ? network.outputs.appSubnetId : ''"
    fa = bm.load(main.module_file(main.modules["functionApp"]))
    (site,) = fa.resources_of_type("Microsoft.Web/sites")
    for subnet, expected in (("", None), ("/subscriptions/s/x/subnets/app", "/subscriptions/s/x/subnets/app")):
        props = bm.Scope(fa, {"appSubnetId": subnet}, defaults=True).eval(site.body["properties"])
        assert props["virtualNetworkSubnetId"] == expected


def test_private_dns_zones_are_linked_and_endpoints_registered():
    net, _ = _network()
    (links,) = net.resources_of_type("Microsoft.Network/privateDnsZones/virtualNetworkLinks")
    assert links.loop is not None and links.body["properties"]["registrationEnabled"] is False
    assert expr_text(links.body["parent"]) == "dnsZones[i]"
    (groups,) = net.resources_of_type("Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
    assert expr_text(groups.body["parent"]) == "privateEndpoints[i]"
    config = groups.body["properties"]["privateDnsZoneConfigs"][0]["properties"]
    assert expr_text(config["privateDnsZoneId"]) == "dnsZones[i].id"
    for res in (links, groups, *net.resources_of_type("Microsoft.Network/privateDnsZones"),
                *net.resources_of_type("Microsoft.Network/privateEndpoints")):
        assert res.loop is not None and " in endpoints" in res.loop.text, res.symbol
    (pe,) = net.resources_of_type("Microsoft.Network/privateEndpoints")
    assert expr_text(pe.body["properties"]["subnet"]["id"]) == "vnet.properties.subnets[1].id"
