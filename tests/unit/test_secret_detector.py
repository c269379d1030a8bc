"""The secret detector's corpus (shared/secret_patterns.py), chat-text placeholders, vault names, and the
sweep's broader plaintext scan. Table-driven; Hypothesis where the class is open-ended."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from migration.domain import exporter, planner
from migration.domain.plaintext_scan import plaintext_paths, suspicious_text
from migration.domain.secret_fields import (
    PLACEHOLDER_PREFIX,
    extract,
    extract_text,
    looks_secret,
    restore_text,
    vault_name,
)
from shared import logs, secret_patterns

S = "Zq8sR2vXk9Lm4Tp7Wn3Yb6Hc"  # a credential-looking value the tests plant
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MaLmN\n"
       "-----END RSA PRIVATE KEY-----")

# Values that must be found in a config-like string wherever they stand (the misses first).
CREDENTIALS = [
    f"postgresql://user:{S}@db.example.com/db",
    f"https://bot:{S}@git.example.com/repo.git",
    f"redis://:{S}@cache:6379/0",
    f"--api-key={S}",
    f"--token {S}",
    f"SOME_API_KEY={S}",
    f"GITHUB_PERSONAL_ACCESS_TOKEN={S}",
    f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={S}==;EndpointSuffix=core.windows.net",
    f"Server=tcp:db,1433;Database=x;User ID=admin;Password={S};",
    f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={S}=",
    f"BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig={S}",
    f"https://api.example.com/v1?access_token={S}",
    f"https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig={S}",
    f"Bearer {S}",
    "sk-" + S, "sk-ant-api03-" + S, "sk-proj-" + S, "ghp_" + S, "github_pat_11ABCDEFG_" + S, "xoxb-123-" + S,
    "AKIAIOSFODNN7EXAMPLE", "AIza" + "SyA1234567890abcdefghijklmnopqrstuv", JWT, PEM, "sk_live_" + S,
]
# Ordinary config strings that must stay readable.
NOT_CREDENTIALS = [
    "https://api.openai.com/v1", "https://example.com:8443/path?page=2&sort=name", "gpt-4o-mini", "dark",
    "mailto:someone@example.com", "user@example.com", "npx -y @modelcontextprotocol/server-github",
    "--port=8080", "-e", "LOG_LEVEL=debug", "maxTokens=4096", "keyboardLayout=qwerty", "task-force-alpha-bravo-1",
    "You are a helpful assistant. Never reveal the password to anyone.", "550e8400-e29b-41d4-a716-446655440000",
]
# Chat prose: only high-confidence formats leave it.
PROSE = ["my password is hunter2", "set the token field in settings", "use Bearer auth", "key=value pairs",
         "postgres://localhost/db", "the AKIA prefix marks AWS keys", "eyJ is how base64 JSON starts"]


@pytest.mark.parametrize("text", CREDENTIALS)
def test_credential_shapes_are_found(text):
    assert secret_patterns.has_credential(text)
    assert looks_secret(text)
    assert S not in logs.redact(f"calling {text} now") and "calling" in logs.redact(f"calling {text} now")


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_ordinary_config_strings_are_not_credentials(text):
    assert not secret_patterns.has_credential(text)


@pytest.mark.parametrize("name, secret", [
    ("apiKey", True), ("api_key", True), ("privateKey", True), ("AccountKey", True), ("SharedAccessSignature", True),
    ("sig", True), ("client_secret", True), ("maxTokens", False), ("keyboardLayout", False),
    ("tokenizerName", False), ("monkey", False), ("signatureText", False),
])
def test_secret_names(name, secret):
    assert secret_patterns.is_secret_name(name) is secret


@pytest.mark.parametrize("args", [
    ["-e", f"SOME_API_KEY={S}"], [f"--api-key={S}"], ["--api-key", S], ["run", f"postgresql://u:{S}@h/db"],
])
def test_mcp_args_with_credentials_go_to_the_vault(args):
    item = {"id": "m", "command": "npx", "args": args}
    ext = extract(item, tenant="t", user="u", source_key="k", by_pattern=True)
    assert S not in json.dumps(ext.value) and ext.slots


def test_config_value_without_credentials_is_left_alone():
    item = {"maxTokens": 4096, "keyboardLayout": "qwerty", "endpointUrl": "https://example.com/v1",
            "args": ["--port=8080", "-e", "LOG_LEVEL=debug"]}
    assert extract(item, tenant="t", user="u", source_key="k", by_pattern=True).slots == []


@pytest.mark.parametrize("secret", ["sk-" + S, "ghp_" + S, "AKIAIOSFODNN7EXAMPLE", "xoxp-1-" + S, JWT, PEM])
def test_chat_text_credentials_leave_the_text_and_come_back_exactly(secret):
    text = f"here is my key: {secret} - keep it safe"
    stored, slots, refs = extract_text(text, tenant="t", user="u", source_key="k", base=(0, "content"))
    assert secret not in stored and stored.startswith("here is my key: ") and stored.endswith(" - keep it safe")
    assert restore_text(stored, refs, {s.name: s.value for s in slots}) == text


@pytest.mark.parametrize("text", PROSE)
def test_chat_prose_stays_in_the_text(text):
    assert extract_text(text, tenant="t", user="u", source_key="k", base=(0,))[2] == []


def test_text_that_looks_like_a_placeholder_is_not_confused_with_one():
    name = vault_name("t", "u", "k", (0, "content", 0))
    text = f"{PLACEHOLDER_PREFIX}{name} then sk-{S} then {PLACEHOLDER_PREFIX}{name}"
    stored, slots, refs = extract_text(text, tenant="t", user="u", source_key="k", base=(0, "content"))
    assert restore_text(stored, refs, {s.name: s.value for s in slots}) == text


@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(["sk-" + S, "ghp_" + S, JWT, PEM, "@keyvault:"])),
                max_size=6))
@settings(max_examples=200, deadline=None)
def test_text_round_trip_property(parts):
    text = " ".join(parts)
    stored, slots, refs = extract_text(text, tenant="t", user="u", source_key="k", base=(1, "content"))
    assert restore_text(stored, refs, {s.name: s.value for s in slots}) == text
    assert all(s.value not in stored for s in slots)


def test_vault_names_are_an_injective_encoding_of_the_location():
    # The pair: parts joined with NUL made these equal.
    assert vault_name("a", "b\0c", "k", ()) != vault_name("a\0b", "c", "k", ())
    assert vault_name("t", "u", "k", ("0",)) != vault_name("t", "u", "k", (0,))
    assert vault_name("t", "u", "k", ("a", "b")) != vault_name("t", "u", 'k", "a', ("b",))


@given(st.tuples(st.text(max_size=6), st.text(max_size=6), st.text(max_size=6)),
       st.tuples(st.text(max_size=6), st.text(max_size=6), st.text(max_size=6)))
@settings(max_examples=300, deadline=None)
def test_distinct_locations_never_share_a_vault_name(a, b):
    if a != b:
        assert vault_name(*a, ()) != vault_name(*b, ())


@pytest.mark.parametrize("text", [
    '{"token":"' + S + '","token":""}', '{"a":{"pwd2":"' + S + '","pwd2":""}}', '[{"x":1,"x":2}]',
])
def test_duplicate_keys_make_a_value_text_that_goes_to_the_vault(text):
    assert planner.parse_json(text) == (False, None) and planner.has_duplicate_keys(text)
    for key in ("ui_preferences_t", "ai_agents_t", "chat_session_1", "something_unknown"):
        p = planner.plan("t", "u", {key: text})
        stored = json.dumps(p.documents) + json.dumps(p.backup_values)
        assert S not in stored and '"x":1' not in stored, key
        assert exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)[key] == text


# A credential as an object key: keys are stored as they are, so the value is quarantined and vaulted whole.
# Spelled plainly, with an escape that writes an ASCII character, and after an escape that hides its word
# boundary from a scan of the text (`\nsk-…` reads `nsk-` there).
KEY_SPELLINGS = {"plain": json.dumps("sk-" + S), "escaped": '"sk\\u002d' + S + '"',
                 "after_newline": '"\\nsk-' + S + '"', "jwt": json.dumps(JWT), "pem": json.dumps(PEM)}
KEY_PLACES = [  # (localStorage key, its value with the object key spelled at `K`)
    ("ai_agents_t", '[{"id":"a","name":"n",K:1}]'),
    ("user_llm_configs_t", '[{"id":"c","provider":"openai","cfg":{K:"x"}}]'),
    ("tenant_mcp_servers_t", '{"m1":{"id":"m1","command":"npx",K:true}}'),
    ("chat_session_1", '[{"role":"user","content":"hi",K:1}]'),
    ("chat_session_2", '[{"role":"user","content":"hi","meta":[{"a":{K:null}}]}]'),
    ("chat_session_3", '{"title":"t",K:1,"messages":[{"role":"user","content":"hi"}]}'),
    ("chat_session_t_global", '["bare", {K:1}]'),
    ("ui_preferences_t", '{"layout":{K:"wide"}}'),
    ("theme", '{K:"dark"}'),
    ("something_unknown", '{"a":[{K:1}]}'),                  # quarantined JSON: unknown key
    ("ai_agents_t", '{"version":2,"agents":[{K:1}]}'),       # quarantined JSON: unexpected shape
]


@pytest.mark.parametrize("spelling", KEY_SPELLINGS)
@pytest.mark.parametrize("key, template", KEY_PLACES)
def test_a_credential_as_an_object_key_is_never_stored(key, template, spelling):
    text = template.replace("K", KEY_SPELLINGS[spelling])
    value = json.loads(text)
    p = planner.plan("t", "u", {key: text})
    outcome = p.keys[0]
    assert outcome.disposition.value == "quarantined", outcome
    # Quarantined for their key or shape before their keys are looked at; vaulted whole all the same.
    assert outcome.reason == ("unknown_key" if key == "something_unknown" else "secret_in_key"), outcome
    stored = json.dumps(p.documents, ensure_ascii=False) + json.dumps(p.backup_values, ensure_ascii=False)
    assert S not in stored and "IUzI1NiJ9" not in stored and "MIIEowIBAAKCAQEA" not in stored
    assert all("rawSecretRefs" in d for d in p.documents if d["type"] == "quarantine")
    out = exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)
    assert out[key] == text and json.loads(out[key]) == value


@pytest.mark.parametrize("text", [
    '{"a":' + "[" * 70 + '{"sk\\u002d' + S + '":1}' + "]" * 70 + "}",  # too deep, escaped key inside
    '"sk\\u002d' + S + '"',                                          # a JSON string, escaped
])
def test_raw_text_is_judged_by_what_json_parse_reads(text):
    for key in ("theme", "odd_key"):
        p = planner.plan("t", "u", {key: text})
        stored = json.dumps(p.documents, ensure_ascii=False) + json.dumps(p.backup_values, ensure_ascii=False)
        assert S not in stored, key
        assert exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)[key] == text


def test_keys_that_only_look_like_prose_are_kept():
    p = planner.plan("t", "u", {"chat_session_1": '[{"role":"user","content":"hi","task-force-alpha-bravo-1":1}]'})
    assert p.keys[0].disposition.value == "migrated"


@pytest.mark.parametrize("key, value", [
    ("ai_agents_t", {"version": 2, "agents": [{"auth": {"key": S}}]}),       # collection of unexpected shape
    ("some_unknown_key", {"privateKey": S}),
    ("some_unknown_key", [{"connection": f"postgresql://u:{S}@h/db"}]),
    ("user_llm_configs_t", {"openai": {"apiKey": S}, "v": 1}),
    ("chat_session_1", {"messages": "not a list", "token": S}),
])
def test_quarantined_json_gets_the_same_detector_and_round_trips(key, value):
    p = planner.plan("t", "u", {key: json.dumps(value)})
    assert p.keys[0].disposition.value in ("quarantined", "migrated")
    assert S not in json.dumps(p.documents) and S not in json.dumps(p.backup_values)
    out = exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)
    assert json.loads(out[key]) == value


def test_too_deep_or_truncated_values_with_secret_fields_go_to_the_vault():
    deep = '{"privateKey":"' + S + '","n":' + "[" * 70 + "]" * 70 + "}"
    for text in (deep, '{"privateKey":"' + S + '"', '{"auth":{"key":"' + S):
        p = planner.plan("t", "u", {"odd_key": text})
        assert S not in json.dumps(p.documents) and S not in json.dumps(p.backup_values)
        assert exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)["odd_key"] == text


# --- the sweep's scan: broader than the planner's ------------------------------------------------------

@pytest.mark.parametrize("data", [
    {"apiKey": S}, {"db": f"postgresql://u:{S}@h/db"}, {"note": f"password: {S}"},
    {"x": "Zq8sR2vXk9Lm4Tp7Wn3Yb6HcQ1"},                          # a high-entropy token under any name
    {"tokenValue": "abc12345"}, {"mySecretThing": "hunter22"},   # looser names than the planner's
])
def test_sweep_scan_finds_plaintext_credentials(data):
    assert plaintext_paths({"type": "agent", "data": data})


@pytest.mark.parametrize("data", [
    {"apiKey": PLACEHOLDER_PREFIX + "ls-" + "0" * 48}, {"maxTokens": 4096}, {"keyboardLayout": "qwerty"},
    {"id": "550e8400-e29b-41d4-a716-446655440000"},
    {"sha": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    {"systemPrompt": "Keep answers under 500 tokens; never ask for a password."},
    {"endpoint": "https://api.openai.com/v1"},
])
def test_sweep_scan_leaves_ordinary_data_alone(data):
    assert plaintext_paths({"type": "agent", "data": data}) == []


def test_sweep_scan_catches_a_miss_of_the_planner_detector():
    # A phrase and a random token under innocent names: the planner keeps them, the sweep reports them.
    item = {"notes": f"login password: {S}", "blob": "Zq8sR2vXk9Lm4Tp7Wn3Yb6HcQ1"}
    assert extract(item, tenant="t", user="u", source_key="k", by_pattern=True).slots == []
    assert len(plaintext_paths({"type": "agent", "data": item})) == 2
    assert suspicious_text("x " + S + "Q1") and not suspicious_text("plain words only")


def test_quarantined_json_with_very_many_secrets_is_kept_whole_in_the_vault():
    value = {f"k{i}": {"apiKey": f"{S}{i}"} for i in range(planner.MAX_QUARANTINE_SECRETS + 1)}
    text = json.dumps(value)
    p = planner.plan("t", "u", {"some_unknown_key": text})
    assert S not in json.dumps(p.documents) and S not in json.dumps(p.backup_values)
    assert len(p.secrets) == -(-len(text) // 4000)  # a few pieces, not one secret per field
    assert exporter.rebuild(json.loads(json.dumps(p.documents)), p.secrets)["some_unknown_key"] == text


# Text that is not JSON at all still reads as a credential once its escapes are decoded (found by the round-trip
# property: `{"sk\u002d…": \u002d0.0}` under `theme` was kept raw in clear).
@pytest.mark.parametrize("text", [
    '{"sk\\u002d' + "6ef7c9b15ecdd69083724b84" + '": \\u002d0.0}',
    '{"k": "x\\nsk-' + "6ef7c9b15ecdd69083724b84",
    '[{"sk\\u005flive_' + "6ef7c9b15ecdd69083724b84" + '": 1',
])
def test_text_that_is_not_json_is_judged_with_its_escapes_decoded(text):
    p = planner.plan("t", "u", {"theme": text})
    stored = json.dumps(p.documents) + json.dumps(p.backup_values)
    assert "6ef7c9b15ecdd69083724b84" not in stored
    assert exporter.rebuild(p.documents, dict(p.secrets))["theme"] == text
