"""The pure plan: dispositions, documents, secrets, shapes, chunking. No I/O."""
import json

import pytest

from migration.domain import exporter, planner
from migration.domain.families import Disposition

from ..helpers import json_equal_or_same, load_fixture


def round_trip(plan: planner.Plan) -> dict[str, str]:
    stored = json.loads(json.dumps(plan.documents, ensure_ascii=True))  # what a store gives back
    return exporter.rebuild(stored, plan.secrets)


@pytest.mark.parametrize("profile", ["typical", "heavy"])
def test_fixtures_plan_and_rebuild(profile):
    data = load_fixture(profile)
    plan = planner.plan("contoso", "user-1", data)
    assert plan.counts["received"] == len(data)
    assert plan.counts == {"received": len(data), "migrated": len(data) - 1, "quarantined": 0, "ignored": 1}
    out = round_trip(plan)
    assert set(out) == set(data) - {"auth_token"}
    assert all(json_equal_or_same(data[k], out[k]) for k in out)
    stored = json.dumps(plan.documents) + json.dumps(plan.backup_values)
    secrets = [c["apiKey"] for c in json.loads(data["user_llm_configs_contoso"]) if "apiKey" in c]
    assert secrets and not any(s in stored for s in secrets)
    assert data["auth_token"] not in stored


def test_same_payload_same_plan():
    data = load_fixture("typical")
    a, b = planner.plan("contoso", "u", data), planner.plan("contoso", "u", dict(reversed(list(data.items()))))
    assert a.migration_id == b.migration_id
    assert sorted(d["id"] for d in a.documents) == sorted(d["id"] for d in b.documents)
    assert planner.plan("contoso", "other", data).migration_id != a.migration_id


def test_shapes_browsers_hold():
    data = {
        "ai_agents_t": json.dumps({"a1": {"id": "a1", "name": "x", "llmConfigId": "l1"}, "a2": {"id": "a2"}}),
        "user_llm_configs_t": json.dumps([{"id": "l1", "apiKey": "sk-1", "extra": {"deep": [1, 2]}}, "junk", None]),
        "chat_session_s1": json.dumps({"title": "T", "messages": [
            {"role": "user", "message": "old field", "timestamp": 1700000000},
            {"role": "assistant", "content": "ms", "timestamp": 1700000000123},
            {"role": "user", "content": "iso", "timestamp": "2025-01-01T10:00:00Z"},
            {"role": "user", "content": "bad", "timestamp": "yesterday"},
            "a bare string"]}),
        "chat_session_s2": json.dumps({"title": "no messages"}),
        "chat_session_s3": "[]",
        "theme": "dark",
        "x_settings_t": "42",
    }
    plan = planner.plan("t", "u", data)
    assert plan.counts["migrated"] == len(data)
    by_key = {k.key: k for k in plan.keys}
    assert by_key["ai_agents_t"].shape == "object"
    assert any("user_llm_configs_t[1]" in w for w in plan.warnings)
    msgs = sorted((d for d in plan.documents if d["type"] == "chat_message" and d["sessionId"] == "s1"),
                  key=lambda d: d["sequence_number"])
    assert [m.get("created_at") for m in msgs] == [
        "2023-11-14T22:13:20.000Z", "2023-11-14T22:13:20.123Z", "2025-01-01T10:00:00Z", None, None]
    assert msgs[0]["content"] == "old field" and msgs[0]["contentField"] == "message"
    llm = next(d for d in plan.documents if d["type"] == "llm_config" and d["position"] == 0)
    assert llm["api_key_vault_secret"] in plan.secrets and plan.secrets[llm["api_key_vault_secret"]] == "sk-1"
    out = round_trip(plan)
    assert out["theme"] == "dark" and out["x_settings_t"] == "42"
    assert all(json_equal_or_same(data[k], out[k]) for k in data)


@pytest.mark.parametrize("value,reason", [("", "invalid_json"), ("{bad", "invalid_json"), ("null", "unexpected_shape"),
                                          ("5", "unexpected_shape"), ("[NaN]", "invalid_json"),
                                          ("[1e999]", "invalid_json"), ("[1" + "0" * 400 + "]", "invalid_json"),
                                          ("[" * 5000 + "]" * 5000, "invalid_json")])
def test_unreadable_collections_are_quarantined_raw(value, reason):
    plan = planner.plan("t", "u", {"ai_agents_t": value})
    [outcome] = plan.keys
    assert (outcome.disposition, outcome.reason) == (Disposition.QUARANTINED, reason)
    assert round_trip(plan)["ai_agents_t"] == value


def test_raw_values_that_look_like_credentials_go_to_the_vault():
    raw = 'broken [{"apiKey": "sk-abcdefghijklmnopqrstuvwxyz"'
    plan = planner.plan("t", "u", {"user_llm_configs_t": raw, "mystery": "x" * 9000 + " password=hunter2"})
    assert raw not in json.dumps(plan.documents) and "hunter2" not in json.dumps(plan.documents)
    assert "hunter2" not in json.dumps(plan.backup_values)
    out = round_trip(plan)
    assert out["user_llm_configs_t"] == raw and out["mystery"].endswith("hunter2")


def test_oversized_values_are_split_into_chunks_not_dropped():
    big = json.dumps([{"role": "user", "content": "é" * 200_000}])
    plan = planner.plan("t", "u", {"chat_session_big": big, "theme": "y" * 300_000}, max_document_bytes=100_000)
    assert all(len(json.dumps(d, ensure_ascii=True)) < 100_000 for d in plan.documents)
    assert sum(1 for d in plan.documents if d["type"] == "chunk") > 4
    out = round_trip(plan)
    assert json.loads(out["chat_session_big"]) == json.loads(big) and out["theme"] == "y" * 300_000


def test_other_tenant_and_ambiguous_keys_write_nothing():
    data = {"ai_agents_b": "[]", "theme": "dark", "chat_session_x": "[]", "current_tenant_id": "b"}
    plan = planner.plan("a", "u", data)
    assert plan.counts["ignored"] == 4
    assert [d["type"] for d in plan.documents] == ["manifest"]
    assert plan.backup_values == {}


def test_values_nested_too_deep_are_kept_raw_and_export_still_works():
    deep = "[" + '{"a":' * 80 + '{"apiKey": "sk-deepsecretvalue0123456789"}' + "}" * 80 + "]"
    plan = planner.plan("t", "u", {"ai_agents_t": deep})
    assert [(k.disposition, k.reason) for k in plan.keys] == [(Disposition.QUARANTINED, "too_deep")]
    assert "sk-deepsecret" not in json.dumps(plan.documents)     # it looks secret: vaulted whole
    assert round_trip(plan)["ai_agents_t"] == deep


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", int("1" + "0" * 300),
                                1e300, "nan", -1])
def test_impossible_timestamps_never_fail_a_message(ts):
    data = {"chat_session_s": json.dumps([{"role": "user", "content": "x", "timestamp": ts}])}
    plan = planner.plan("t", "u", data)
    msg = next(d for d in plan.documents if d["type"] == "chat_message")
    assert plan.counts["migrated"] == 1 and msg["created_at"] is None
    assert json_equal_or_same(data["chat_session_s"], round_trip(plan)["chat_session_s"])


def test_every_document_fits_the_limit_manifest_and_merged_view_included():
    data = {f"chat_session_{i:05d}": "[]" for i in range(400)}
    data["ui_preferences_t"] = json.dumps({f"k{i}": "v" * 50 for i in range(400)})
    data["privacy_settings_t"] = json.dumps({f"token{i}": f"secret-{i}" for i in range(300)})  # many refs
    limit = 8192
    plan = planner.plan("t", "u", data, max_document_bytes=limit)
    assert max(len(json.dumps(d, ensure_ascii=True)) for d in plan.documents) < limit
    assert any(d["type"] == "chunk" and d["parentId"].startswith("manifest.") for d in plan.documents)
    out = round_trip(plan)
    assert all(json_equal_or_same(data[k], out[k]) for k in data) and set(out) == set(data)


def test_more_secret_shapes():
    data = {"azure_openai_api_key": "0123456789abcdef0123456789abcdef",           # raw, named like a key
            "user_llm_configs_t": json.dumps([{"id": "g", "apiKey": 123456789, "note": "AIza" + "x" * 35}])}
    plan = planner.plan("t", "u", data)
    stored = json.dumps(plan.documents) + json.dumps(plan.backup_values)
    assert "0123456789abcdef0123456789abcdef" not in stored and "AIza" + "x" * 35 not in stored
    assert "123456789" not in stored
    out = round_trip(plan)
    assert json.loads(out["user_llm_configs_t"])[0]["apiKey"] == 123456789       # a number comes back a number
    assert out["azure_openai_api_key"] == data["azure_openai_api_key"]


def test_manifest_hashes_what_is_kept_never_a_raw_secret():
    data = {"user_llm_configs_t": "hunter2", "auth_token": "eyJ.x.y", "theme": "dark"}
    plan = planner.plan("t", "u", data)
    manifest = next(d for d in plan.documents if d["type"] == "manifest")["keys"]
    by_key = {e["key"]: e for e in manifest}
    assert "sha256" not in by_key["auth_token"]
    assert by_key["user_llm_configs_t"]["sha256"] != planner.sha256_text("hunter2")
    assert by_key["theme"]["sha256"] == planner.sha256_text("dark")


def test_credentials_in_urls_flags_and_short_field_names():
    server = {"id": "m", "url": "https://x.example/mcp?access_token=3f2a9c1d7e6b", "command": "npx",
              "args": ["-y", "server", "--api-key", "k-123456"], "auth": {"user": "bob", "pass": "hunter2"}}
    data = {"tenant_mcp_servers_t": json.dumps([server])}
    plan = planner.plan("t", "u", data)
    stored = json.dumps(plan.documents) + json.dumps(plan.backup_values)
    assert not any(s in stored for s in ("3f2a9c1d7e6b", "k-123456", "hunter2"))
    assert json.loads(round_trip(plan)["tenant_mcp_servers_t"]) == [server]


def test_migration_ids_and_backup_paths_never_collide_across_owners():
    from hypothesis import given, strategies as st

    from migration.services.service import path_part

    # Tenant `a` / user `b\0c` and tenant `a\0b` / user `c`: same payload, different owners, different ids.
    assert planner.migration_id_for("a", "b\x00c", "p") != planner.migration_id_for("a\x00b", "c", "p")
    unsafe = "tenant/../x"
    assert path_part(path_part(unsafe)) != path_part(unsafe)  # an id that reads like a hash is hashed too

    @given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
    def distinct(a: str, b: str) -> None:
        if a != b:
            assert path_part(a) != path_part(b)
    distinct()


@pytest.mark.parametrize("key,value", [
    ("ai_agents_contoso", [{"id": "sk-" + "a" * 30, "name": "ghp_" + "b" * 30, "llmConfigId": "sk-" + "c" * 30}]),
    ("user_llm_configs_contoso", [{"id": "c1", "provider": "sk-" + "d" * 30, "model": "xoxb-" + "e" * 20}]),
    ("tenant_mcp_servers_contoso", [{"id": "m1", "transport": "AKIA" + "F" * 16}]),
    ("chat_session_s1", [{"role": "sk-" + "g" * 30, "agentId": "ghp_" + "h" * 30, "content": "hi"}]),
])
def test_typed_copies_never_carry_a_secret_the_item_vaulted(key, value):
    """Typed fields (itemId, name, role, agentId, ...) are copies of item fields: they come from the stored
    copy, so a credential-shaped value is a placeholder there and None in the copy, never plain text."""
    data = {key: json.dumps(value)}
    p = planner.plan("contoso", "user-1", data)
    stored = json.dumps(p.documents)
    for secret in p.secrets.values():
        assert secret not in stored
    assert p.secrets  # each credential-shaped value went to the vault
    out = exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)
    assert json.loads(out[key]) == value
