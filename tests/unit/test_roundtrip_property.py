"""Property: export(migrate(x)) == x for every key not ignored, for generated localStorage maps."""
import hashlib
import json
import re

from hypothesis import HealthCheck, given, settings, strategies as st

from migration.domain import exporter, planner
from migration.domain.families import Disposition

from ..helpers import json_equal_or_same

TENANT, OTHER = "contoso", "fabrikam"
# Any code point, lone surrogates included: browsers emit them (a string cut mid-emoji).
chars = st.characters(codec=None, exclude_categories=())
text = st.text(chars, max_size=30)
# Credentials inside values and as object keys (never in localStorage key names): high-confidence formats carry
# the marker H, which must never be stored in clear anywhere (chat text and object keys included); context shapes
# carry C (configs only).
# Computed, not literal: Hypothesis feeds a module's string literals to st.text, which would put them in key names.
H = hashlib.sha256(b"high").hexdigest()[:24]
C = hashlib.sha256(b"context").hexdigest()[:24]
HIGH_CONFIDENCE = [f"sk-{H}", f"ghp_{H}xx", f"xoxb-{H}", f"eyJ{H}.eyJ{H}.sig",
                   f"-----BEGIN PRIVATE KEY-----\n{H}\n-----END PRIVATE KEY-----"]
high_confidence = st.sampled_from(HIGH_CONFIDENCE)
context_credential = st.sampled_from([f"postgresql://user:{C}@db/x", f"https://bot:{C}@host", f"--api-key={C}",
                                      f"SOME_API_KEY={C}", f"AccountKey={C};", f"Password={C}"])
# Pasted as a token (formats match at a word boundary: `task-force-…` is not an `sk-` key).
value_text = st.one_of(text, st.builds(lambda a, c, b: f"{a} {c} {b}", text, st.one_of(high_confidence,
                                                                                    context_credential), text))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60),
                   st.floats(allow_nan=False, allow_infinity=False), value_text)
field_names = st.one_of(st.sampled_from(["id", "name", "apiKey", "token", "env", "headers", "content", "message",
                                         "role", "timestamp", "messages", "endpoint", "llmConfigId", "x"]), text,
                        high_confidence)
json_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(field_names, inner, max_size=5)),
                          max_leaves=20)
timestamp = st.one_of(st.integers(0, 2**42), st.floats(allow_nan=False, allow_infinity=False), text,
                      st.just("2025-03-04T05:06:07Z"))
message = st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": value_text},
                                          optional={"timestamp": timestamp, "apiKey": text, "extra": json_value}),
                    st.fixed_dictionaries({"message": value_text, "timestamp": timestamp}), json_value)
mcp_args = st.lists(st.one_of(st.sampled_from(["-y", "-e", "--token", "run"]), value_text, context_credential),
                    max_size=5).map(lambda args: [{"id": "m", "command": "npx", "args": args}])
item = st.one_of(st.dictionaries(field_names, json_value, max_size=5),
                 st.fixed_dictionaries({"id": text, "apiKey": text, "env": st.dictionaries(text, text, max_size=3)}),
                 json_value)
collection = st.one_of(st.lists(item, max_size=4), mcp_args,
                       st.dictionaries(text, st.dictionaries(field_names, json_value, max_size=3), max_size=3))
session = st.one_of(st.lists(message, max_size=5),
                    st.fixed_dictionaries({"messages": st.lists(message, max_size=4)}, optional={"title": text}),
                    st.dictionaries(field_names, json_value, max_size=3))


def _duplicate_keys(v) -> str:
    """JSON text whose object repeats a key: the first value (with H) is what JSON.parse drops."""
    return '{"token":' + json.dumps(f"sk-{H}") + ',"x":' + json.dumps(v) + ',"token":""}'


def _escaped(v) -> str:
    """JSON text with every `-` and `_` written as an escape: a credential in it, key or value, does not show."""
    return json.dumps(v).replace("-", "\\u002d").replace("_", "\\u005f")


def as_value(strategy):
    return st.one_of(strategy.map(lambda v: json.dumps(v, ensure_ascii=False)),
                     strategy.map(json.dumps), strategy.map(_escaped), strategy.map(_duplicate_keys), value_text,
                     st.sampled_from(["", "null", "{", "[NaN]", "dark"]))


key_and_value = st.one_of(
    st.tuples(st.sampled_from([f"ai_agents_{TENANT}", f"user_llm_configs_{TENANT}", f"tenant_mcp_servers_{TENANT}",
                               f"ai_agents_{OTHER}", f"user_llm_configs_{OTHER}"]), as_value(collection)),
    st.tuples(st.one_of(text.map(lambda s: f"chat_session_{s}"), st.just(f"chat_session_{TENANT}_global"),
                        st.just(f"chat_session_{OTHER}_global")), as_value(session)),
    st.tuples(st.sampled_from(["theme", f"ui_preferences_{TENANT}", f"privacy_settings_{OTHER}", "current_tenant_id",
                               "auth_token", "migration_completed"]), as_value(json_value)),
    st.tuples(text, as_value(json_value)),
)
local_storage = st.lists(key_and_value, max_size=12).map(dict)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(local_storage)
def test_export_of_migrate_gives_back_every_key_not_ignored(data):
    plan = planner.plan(TENANT, "user-1", data, max_document_bytes=4096)
    counts = plan.counts
    assert counts["received"] == len(data) == counts["migrated"] + counts["quarantined"] + counts["ignored"]
    stored = json.loads(json.dumps(plan.documents, ensure_ascii=True))
    out = exporter.rebuild(stored, plan.secrets)
    kept = {k.key for k in plan.keys if k.disposition is not Disposition.IGNORED}
    assert set(out) == kept
    for key in kept:
        assert json_equal_or_same(data[key], out[key]), key
    # Ignored keys (another tenant's among them) leave no document; every secret left its document
    # (the round trip above could only restore it from the vault).
    assert {d["sourceKey"] for d in stored if d.get("sourceKey") is not None} <= kept
    # High-confidence credentials are in no document and no backup value, whatever the family or shape.
    # (Names are not values: Hypothesis reuses drawn strings, so one may turn up as a key or field name.)
    # Object keys are values here; only localStorage key names (stored as `sourceKey`) are exempt.
    stored_text = json.dumps(plan.documents) + json.dumps(plan.backup_values)
    stored_text += stored_text.replace("\\\\u002d", "-").replace("\\\\u005f", "_")  # raw text kept escaped
    for secret in HIGH_CONFIDENCE:
        if not any(secret in name for name in data):
            assert not re.search(r"(?<![A-Za-z0-9_])" + re.escape(json.dumps(secret)[1:-1]), stored_text)
    placeholders = {f"@keyvault:{name}" for name in plan.secrets}
    assert all(_strings_in(d) & placeholders or "rawSecretRefs" in d for d in stored if d.get("secretRefs"))


def _strings_in(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(_strings_in, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_strings_in, value)) if value else set()
    return set()

