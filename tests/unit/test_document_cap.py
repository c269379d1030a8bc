"""Every planned document fits the item cap: what is copied into documents beside their payload is bounded."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from migration.domain import errors, exporter, planner, spill
from migration.domain.families import MAX_KEY_CHARS
from migration.domain.key_builder import MAX_TYPED_CHARS, MAX_TYPED_IDS

LONG = MAX_TYPED_CHARS + 1


def _size(doc: dict) -> int:
    return len(json.dumps(doc, ensure_ascii=True, separators=(",", ":")))


def _typed(key: str, value: object, doc_type: str, cap: int = 1_500_000) -> dict:
    p = planner.plan("t", "u", {key: json.dumps(value)}, max_document_bytes=cap)
    assert max(_size(d) for d in p.documents) <= cap
    return next(d for d in p.documents if d["type"] == doc_type)


@pytest.mark.parametrize("key, value, doc_type, field", [
    ("chat_session_s", [{"role": "r" * LONG, "content": "hi"}], "chat_message", "role"),
    ("chat_session_s", [{"role": "user", "agentId": "a" * LONG}], "chat_session", "agentId"),
    ("chat_session_s", [{"role": "user", "agentId": int("9" * LONG)}], "chat_session", "agentId"),
    ("ai_agents_t", [{"id": "i" * LONG}], "agent", "itemId"),
    ("ai_agents_t", [{"id": 1, "name": "n" * LONG}], "agent", "name"),
    ("ai_agents_t", [{"id": 1, "llmConfigId": "l" * LONG}], "agent", "llmConfigId"),
    ("ai_agents_t", [{"id": 1, "mcpServerIds": [str(i) for i in range(MAX_TYPED_IDS + 1)]}], "agent",
     "mcpServerIds"),
    ("user_llm_configs_t", [{"id": 1, "provider": "p" * LONG}], "llm_config", "provider"),
    ("user_llm_configs_t", [{"id": 1, "model": "m" * LONG}], "llm_config", "model"),
    ("tenant_mcp_servers_t", [{"id": 1, "transport": "x" * LONG}], "mcp_server", "transport"),
])
def test_a_typed_copy_too_long_is_not_copied_and_the_original_stays(key, value, doc_type, field):
    doc = _typed(key, value, doc_type)
    assert doc[field] is None
    if doc_type != "chat_session":
        assert doc["data"] == value[0] or doc["data"] == {k: v for k, v in value[0].items() if k != "content"}


@pytest.mark.parametrize("key, value, doc_type, field, expected", [
    ("chat_session_s", [{"role": "r" * MAX_TYPED_CHARS}], "chat_message", "role", "r" * MAX_TYPED_CHARS),
    ("chat_session_s", [{"agentId": 7}], "chat_session", "agentId", "7"),
    ("ai_agents_t", [{"id": "i" * MAX_TYPED_CHARS}], "agent", "itemId", "i" * MAX_TYPED_CHARS),
    ("ai_agents_t", [{"id": 1, "mcpServerIds": ["m", "x" * LONG]}], "agent", "mcpServerIds", ["m"]),
])
def test_a_typed_copy_within_the_bound_is_copied(key, value, doc_type, field, expected):
    assert _typed(key, value, doc_type)[field] == expected


@pytest.mark.parametrize("key", [
    "chat_session_" + "k" * (MAX_KEY_CHARS - len("chat_session_") + 1),
    "ui_preferences_" + "_" * MAX_KEY_CHARS + "_t",
    "x" * 2_100_000,
])
def test_a_key_too_long_is_ignored_and_listed(key):
    p = planner.plan("t", "u", {key: "[]", "theme": "dark"})
    assert p.listed(planner.Disposition.IGNORED) == [{"key": key, "reason": "key_too_long"}]
    assert all(d.get("sourceKey") != key for d in p.documents)
    assert max(_size(d) for d in p.documents) <= 1_500_000  # the manifest lists it, spilled into chunks


def test_a_key_at_the_bound_is_migrated_and_its_chunks_fit():
    key = "chat_session_" + "k" * (MAX_KEY_CHARS - len("chat_session_"))
    cap = 8192
    p = planner.plan("t", "u", {key: json.dumps([{"role": "user", "content": "c" * 20_000}])},
                     max_document_bytes=cap)
    assert p.keys[0].disposition is planner.Disposition.MIGRATED
    assert any(d["type"] == "chunk" for d in p.documents)
    assert max(_size(d) for d in p.documents) <= cap


def test_the_manifest_of_many_long_keys_is_spilled_under_the_cap():
    cap = 4096
    data = {f"k{i:04d}" + "x" * (MAX_KEY_CHARS - 5): "v" for i in range(50)}
    p = planner.plan("t", "u", data, max_document_bytes=cap)
    assert max(_size(d) for d in p.documents) <= cap
    assert any(d["type"] == "chunk" and d["parentId"].startswith("manifest.") for d in p.documents)


def test_a_document_over_the_cap_even_spilled_fails_naming_its_key():
    key = "chat_session_" + "\U0001f600" * 500  # 12 bytes a character, ASCII-escaped: no 4 KB chunk can hold it
    with pytest.raises(planner.PlanTooLarge) as raised:
        planner.plan("t", "u", {key: json.dumps([{"content": "c" * 10_000}])}, max_document_bytes=4096)
    assert (raised.value.code, raised.value.limit, raised.value.key) == ("DOCUMENT_TOO_LARGE", 4096, key)
    body = errors.too_large(raised.value.code, raised.value.what, raised.value.limit, raised.value.key).body()
    assert body["key"] == key and key not in body["error"]


def test_spill_passes_documents_that_fit_untouched():
    docs = [{"id": "a", "data": "x"}]
    assert spill.spill(docs, 4096) == docs


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=600)
_long_text = st.one_of(_text, st.text(alphabet="ab\"\\\u00e9\U0001f600\x00", min_size=200, max_size=3000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=st.text(alphabet="abc_\u00e9", max_size=120), suffix=st.text(max_size=40),
       messages=st.lists(st.fixed_dictionaries({"role": _long_text, "agentId": _long_text, "content": _long_text}),
                         max_size=8),
       agents=st.lists(st.fixed_dictionaries({"id": _long_text, "name": _long_text,
                                              "mcpServerIds": st.lists(_text, max_size=80)}), max_size=4))
def test_every_planned_document_fits_the_cap(session, suffix, messages, agents):
    cap = 4096
    data = {"chat_session_" + session: json.dumps(messages), "ai_agents_t": json.dumps(agents),
            "pref_" + suffix + "_preferences_t": json.dumps({"v": suffix}),
            "unknown_" + "z" * 2000 + suffix: "[]"}
    p = planner.plan("t", "u", data, max_document_bytes=cap)
    assert max(_size(d) for d in p.documents) <= cap
    assert len(p.keys) == len(data)


# Spilled documents keep their secret references in their chunks: export must still find every vault name
# (found in review: export of a spilled agent or message with a credential failed on a missing secret).
SPILLED_WITH_SECRETS = {
    "ai_agents_t": json.dumps([{"id": "a1", "config": {"apiKey": "sk-" + "a" * 40, "notes": "n" * 6000}}]),
    "chat_session_s": json.dumps([{"role": "user", "content": "use sk-" + "c" * 40 + " " + "z" * 6000}]),
    "mcp_servers_t": json.dumps([{"id": "m", "env": {"TOKEN": "t" * 30}, "args": ["x" * 6000]}]),
}


def test_secret_references_inside_chunks_are_found_and_exported():
    p = planner.plan("t", "u", SPILLED_WITH_SECRETS, max_document_bytes=4096)
    assert any(d["type"] == "chunk" for d in p.documents) and p.secrets
    assert exporter.secret_names(p.documents) == set(p.secrets)
    rebuilt = exporter.rebuild(p.documents, dict(p.secrets))
    assert {k: json.loads(v) for k, v in rebuilt.items()} == {k: json.loads(v) for k, v in SPILLED_WITH_SECRETS.items()}


def test_a_sampled_read_missing_chunks_gives_the_names_it_can():
    p = planner.plan("t", "u", SPILLED_WITH_SECRETS, max_document_bytes=4096)
    first_chunk = next(d for d in p.documents if d["type"] == "chunk")
    sampled = [d for d in p.documents if d is not first_chunk]
    assert exporter.secret_names(sampled) <= set(p.secrets)
