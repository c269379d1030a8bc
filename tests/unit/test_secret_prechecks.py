"""The planner's cheap secret pre-checks never skip what the full detector would find (issue 13's speed-up).

Each shortcut answers "cannot hold a secret" only where the slow path would find none; these properties pit
each one against the full detector on generated text built from the credentials' own alphabet.
"""
from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from migration.domain import planner
from migration.domain.secret_fields import (
    ALL_VALUES_SECRET,
    all_flat_and_plain,
    flat_and_plain,
    is_secret_name,
    may_hold_high_confidence,
)
from migration.domain.value_parsing import escapes_ascii
from shared import secret_patterns

SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of every high-confidence format, plus the characters around them, so generated text often comes close
# to (and often is) a credential.
_PIECES = ["sk-", "ant-", "proj-", "sk_live_", "rk_test_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
           "xoxb-", "xoxp-", "AKIA", "ASIA", "AIza", "eyJ", ".", "-----BEGIN RSA PRIVATE KEY-----",
           "-----END RSA PRIVATE KEY-----", "-", "_", " ", "\n", "\x7f", "é", "😀", "\\", '"']
_TOKEN_CHARS = "abcXYZ0189_-"
_text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(alphabet=_TOKEN_CHARS, min_size=1, max_size=40),
                           st.text(max_size=5)), max_size=12).map("".join)


def _full_detector_finds(text: str) -> bool:
    return secret_patterns._HIGH.search(text) is not None  # noqa: SLF001 - the detector without its pre-check


@SLOW
@given(_text)
def test_the_anchor_precheck_never_misses_a_high_confidence_match(text):
    if _full_detector_finds(text):
        assert secret_patterns.may_hold_high_confidence(text)
    assert bool(secret_patterns.high_confidence_spans(text)) == _full_detector_finds(text)


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), _text),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(_text, children, max_size=4)),
    max_leaves=12)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


@SLOW
@given(_json_values, st.booleans())
def test_whole_value_prechecks_never_miss_a_string_holding_a_credential(value, ensure_ascii):
    """The forms a value is checked in: the parsed value, JSON text of it, the received text (only when no
    escape writes an ASCII character)."""
    if not any(_full_detector_finds(s) for s in _strings(value)):
        return
    assert may_hold_high_confidence(value)
    try:
        assert secret_patterns.may_hold_high_confidence(orjson.dumps(value).decode())
    except TypeError:  # lone surrogates: that path is not taken
        pass
    received = json.dumps(value, ensure_ascii=ensure_ascii)
    if not escapes_ascii(received):
        assert secret_patterns.may_hold_high_confidence(received)


def test_a_credential_spelled_with_escapes_is_still_vaulted():
    """`\\u0073k-…` is `sk-…` to JSON.parse: the received-text shortcut must not be taken for it."""
    secret = "sk-" + "Q" * 30
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret[:3]) + secret[3:]
    text = '[{"role": "user", "content": "my key ' + escaped + '", "timestamp": 1700000000000}]'
    assert escapes_ascii(text) and not secret_patterns.may_hold_high_confidence(text)
    p = planner.plan("contoso", "u", {"chat_session_s1": text})
    assert secret in p.secrets.values()
    assert secret not in json.dumps(p.documents, ensure_ascii=False)


def _flat_and_plain_reference(value: dict, extra_fields: frozenset[str] = frozenset()) -> bool:
    return all(isinstance(v, (str, int, float, bool, type(None))) and not is_secret_name(k)
               and k not in ALL_VALUES_SECRET and k not in extra_fields for k, v in value.items())


_names = st.sampled_from(["id", "role", "content", "timestamp", "apiKey", "env", "maxTokens", "token", "x", "endpoint"])
_fields = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3),
                    st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
_messages = st.dictionaries(_names, _fields, max_size=5)


@SLOW
@given(st.lists(st.one_of(_messages, _messages, st.text(max_size=3), st.integers()), max_size=6),
       st.sampled_from([frozenset(), frozenset({"endpoint"})]))
def test_flat_and_plain_shortcuts_agree_with_the_definition(items, extra):
    for item in items:
        if isinstance(item, dict):
            assert flat_and_plain(item, extra) == _flat_and_plain_reference(item, extra)
    assert all_flat_and_plain(items) == all(isinstance(i, dict) and _flat_and_plain_reference(i) for i in items)
