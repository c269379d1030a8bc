"""Issue 10 (secrets, sweeps): through the registered functions, on every adapter stack.

Each value below plants the secret S in a form the detector once missed; after a migration S must be in no
document, no backup and no sweep report, the vault must hold it, and export must give back the exact value.
"""
from __future__ import annotations

import json

from migration.services.service import record_id

from ..helpers import json_equal_or_same, load_fixture
from .test_migration_functions import export, migrate
from .test_ops_functions import _CountingStore, sweep

S = "Zq8sR2vXk9Lm4Tp7Wn3Yb6Hc"
T = "contoso"

PLANTED = {
    # issue 3: forms the detector missed
    f"tenant_mcp_servers_{T}": json.dumps([
        {"id": "db", "command": "npx", "args": ["-y", "server-postgres", f"postgresql://user:{S}1@db/prod"]},
        {"id": "gh", "command": "docker", "args": ["run", "-e", f"GITHUB_API_KEY={S}2", "img"]},
        {"id": "x", "command": "tool", "args": [f"--api-key={S}3"], "url": f"https://bot:{S}4@host/hook"},
    ]),
    f"user_llm_configs_{T}": json.dumps([
        {"id": "az", "provider": "azure", "storage": f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={S}5;",
         "db": f"Server=tcp:h;Password={S}6;", "sas": f"SharedAccessSignature=sv=1&sig={S}7"},
    ]),
    # issue 4: quarantined values
    f"ai_agents_{T}": json.dumps({"version": 2, "agents": [{"auth": {"key": f"{S}8"}}]}),
    "legacy_signing_material": json.dumps({"privateKey": f"{S}9"}),
    # issue 10: a duplicate key hides the first value from JSON.parse, not from the text
    f"ui_preferences_{T}": '{"token":"' + S + 'A","token":""}',
    # chat text: high-confidence formats leave the text, prose stays
    "chat_session_s1": json.dumps([
        {"role": "user", "content": f"my key is sk-{S}B and the password is in the vault"},
        {"role": "user", "content": f"@keyvault:ls-{'0' * 48} is just text, and so is ghp_{S}C"},
    ]),
}


async def _everything_stored(stack, tenant=T, user="user-1") -> str:
    docs = await stack.services.ports.documents.list_partition((tenant, user))
    backups = [await stack.services.ports.backups.read(p) for p in await stack.services.ports.backups.list()]
    return json.dumps(docs) + "".join(b.decode("utf-8", "replace") for b in backups if b)


async def test_no_planted_secret_is_stored_in_clear_and_export_restores_each_exactly(stack):
    code, resp, _ = await migrate(stack, PLANTED)
    assert code == 200, resp
    stored = await _everything_stored(stack)
    assert S not in stored
    code, package, _ = await export(stack)
    assert code == 200
    assert set(package["rollback_data"]) == set(PLANTED)
    assert [k for k, v in PLANTED.items() if not json_equal_or_same(v, package["rollback_data"][k])] == []
    # duplicate-key text comes back byte for byte (JSON.parse of it alone would lose the first value)
    assert package["rollback_data"][f"ui_preferences_{T}"] == PLANTED[f"ui_preferences_{T}"]
    # prose and placeholder-looking text stay readable in the message documents
    messages = await stack.services.ports.documents.list_partition((T, "user-1"), ["chat_message"])
    texts = sorted(m["content"] for m in messages)
    assert "and the password is in the vault" in texts[1] and texts[0].startswith(f"@keyvault:ls-{'0' * 48} is")
    report = (await sweep(stack))["validation"]
    assert S not in json.dumps(report)
    assert [i for i in report["issues_found"] if i["type"] == "PLAINTEXT_SECRET"] == []


async def test_sweep_reports_a_plaintext_credential_the_planner_missed_without_its_value(stack):
    assert (await migrate(stack, {f"ai_agents_{T}": json.dumps([{"id": "a", "notes": f"db password: {S}"}])}))[0] == 200
    report = (await sweep(stack))["validation"]
    found = [i for i in report["issues_found"] if i["type"] == "PLAINTEXT_SECRET"]
    assert [i["data"]["paths"] for i in found] == [[["data", "notes"]]]
    assert S not in json.dumps(report)


async def test_sweep_reads_are_bounded_however_many_agents_a_user_has(stack):
    stack.settings.sweep_sample_size = 0
    reads = []
    for n, tenant in ((300, "few"), (1500, "many")):
        assert (await migrate(stack, {f"ai_agents_{tenant}": json.dumps([{}] * n)}, tenant, "u1"))[0] == 200
        counting = _CountingStore(stack.services.ports.documents)
        stack.services.ports.documents = counting
        report = await stack.services.ops.sweep()
        stack.services.ports.documents = counting.inner
        assert report["validation"]["success"] is True, report["validation"]["issues_found"][:3]
        reads.append(counting.documents_read)
    assert reads[1] <= reads[0] + 3  # + the second tenant's counters and the checkpoint


async def test_one_users_issues_cannot_hide_another_tenants(stack):
    agents = [{"id": f"a{i}", "llmConfigId": f"nowhere-{i}"} for i in range(600)]
    assert (await migrate(stack, {f"ai_agents_{T}": json.dumps(agents)}, T, "noisy"))[0] == 200
    assert (await migrate(stack, load_fixture("typical", "fabrikam", "quiet"), "fabrikam", "quiet"))[0] == 200
    docs = stack.services.ports.documents
    record = await docs.read(("fabrikam", "quiet"), record_id("quiet"))
    gone = {**record["backup"], "path": record["backup"]["path"].replace(".json", "-gone.json")}
    await docs.replace(("fabrikam", "quiet"), {**record, "backup": gone}, record["_etag"])
    report = (await sweep(stack))["validation"]
    listed = {(i["data"]["tenantId"], i["type"]) for i in report["issues_found"]}
    assert ("fabrikam", "BACKUP_MISSING") in listed and (T, "DANGLING_REFERENCE") in listed
    dangling = [i for i in report["issues_found"] if i["type"] == "DANGLING_REFERENCE"]
    assert len(dangling) <= 5 and sum(1 + i["data"].get("more", 0) for i in dangling) >= 200


async def test_ids_with_nul_never_share_vault_entries(stack):
    # Tenant `a` / user `b\0c` and tenant `a\0b` / user `c`: the same key, different secrets. (The HTTP layer
    # refuses such claims; the service below it must still keep them apart.)
    key = "legacy_creds"  # an unknown key: quarantined, its secret vaulted
    svc = stack.services.migration
    for tenant, user, tag in (("a", "b\0c", "one"), ("a\0b", "c", "two")):
        await svc.migrate(tenant, user, {key: json.dumps([{"id": "c", "apiKey": f"{S}-{tag}"}])},
                          backup_requested=False)
    for tenant, user, tag in (("a", "b\0c", "one"), ("a\0b", "c", "two")):
        package = await svc.export(tenant, user)
        assert json.loads(package["rollback_data"][key])[0]["apiKey"] == f"{S}-{tag}"
