"""The planner's fast paths give exactly what the slow paths give (issue 13's speed-up): the JSON parse, the
depth check, epoch-ms timestamps and the spill's size bound."""
from __future__ import annotations

import json
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from migration.domain import models, planner, value_parsing
from migration.domain.spill import ASCII_EXPANSION, all_fit, spill
from shared.json_depth import deeper_than

SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _typed(value: Any) -> Any:
    """A form in which 1 and 1.0 (and True) differ, so equal forms mean equal values and equal types."""
    if isinstance(value, dict):
        return ["d", [[k, _typed(v)] for k, v in value.items()]]
    if isinstance(value, list):
        return ["l", [_typed(v) for v in value]]
    return [type(value).__name__, repr(value)]


_keys = st.sampled_from(["a", "b", "a:", ":", "\\u003a", "é", "token"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80), st.floats(allow_nan=False),
                     st.text(alphabet="ab:\\\"é😀\x7f\ud800", max_size=4))
_values = st.recursive(_scalars, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(_keys, c, max_size=3)),
                       max_leaves=10)


def _with_duplicate(text: str, key: str) -> str:
    """The object text with one more pair under `key` up front (a duplicate when the object has that key)."""
    return text.replace("{", "{" + json.dumps(key) + ': "x:y", ', 1) if text.startswith("{") and text != "{}" else text


@SLOW
@given(_values, st.booleans(), st.sampled_from([None, 2]), _keys)
def test_the_fast_parse_agrees_with_the_strict_parse(value, ensure_ascii, indent, dup_key):
    try:
        text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)
    except ValueError:  # inf floats: not JSON anyway
        return
    for candidate in (text, _with_duplicate(text, dup_key), text.replace(":", "\\u003a", 1)):
        fast_ok, fast_value = value_parsing.parse_json(candidate)
        strict_ok, strict_value = value_parsing.parse_json_strict(candidate)
        assert fast_ok == strict_ok
        assert _typed(fast_value) == _typed(strict_value)


@pytest.mark.parametrize("text,ok", [
    ('{"a":1,"a":2}', False), ('{"a":"1:2","a":{"b:":3}}', False), ('{"a":{"b":1,"b":1}}', False),
    ('[{"a":1},{"a":1}]', True), ('{"a\\u003a":1,"a:":2}', False), (str(2**70), True), ("1e999", False),
    ("-1e400", False), ("NaN", False), ('"\\ud800"', True), ("1" + "0" * 400, False), ('{"a":1.5e308}', True),
])
def test_the_fast_parse_on_its_edge_cases(text, ok):
    assert value_parsing.parse_json(text)[0] is ok
    assert _typed(value_parsing.parse_json(text)) == _typed(value_parsing.parse_json_strict(text))
    if text == str(2**70):
        assert value_parsing.parse_json(text)[1] == 2**70  # an int, exact (orjson would make it a float)


def _deeper_than_reference(value: Any, limit: int) -> bool:
    def depth(v: Any) -> int:
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        return 0
    return depth(value) > limit


@SLOW
@given(st.recursive(st.integers(), lambda c: st.one_of(st.lists(c, max_size=3),
                                                       st.dictionaries(st.text(max_size=1), c, max_size=3)),
                    max_leaves=20), st.integers(0, 6))
def test_the_level_by_level_depth_check_agrees_with_the_definition(value, limit):
    assert deeper_than(value, limit) == _deeper_than_reference(value, limit)


def test_the_depth_check_survives_a_depth_bomb():
    bomb: Any = []
    for _ in range(100_000):
        bomb = [bomb]
    assert deeper_than(bomb, 64) and not deeper_than(bomb, 100_001)


@SLOW
@given(st.integers(100_000_000_000, 253_402_214_399_999))
def test_epoch_ms_timestamps_agree_with_gmtime(value):
    secs, ms = divmod(value, 1000)
    t = time.gmtime(secs)
    expected = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
                f".{ms:03d}Z")
    assert models.normalize_timestamp(value) == expected


def _ascii_size(doc: dict) -> int:
    return len(json.dumps(doc, ensure_ascii=True, separators=(",", ":")))


@pytest.mark.parametrize("char", ["\x7f", "\x01", "\n", "é", "😀", '"'])
def test_spill_bounds_the_worst_escape_expansion(char):
    """DEL is one byte in orjson's output and six (`\\u007f`) in ASCII JSON: a size bound with a smaller factor
    let a DEL-heavy document through over the cap."""
    max_bytes = 150_000
    doc = planner.envelope(planner.Plan("t", "u", "m", "p"), "preferences", "preferences.x", sourceKey="k",
                           value={"v": char * (max_bytes // 5)})
    assert _ascii_size(doc) > max_bytes or char in "\n\"é"  # the cases that must spill do exceed the cap
    out = spill([doc], max_bytes)
    assert all(_ascii_size(d) < max_bytes for d in out)
    if _ascii_size(doc) + 1024 >= max_bytes:
        assert len(out) > 1 and out[0].get("chunks")


@SLOW
@given(st.lists(st.text(alphabet="a\x7f\x00é😀\"\\", max_size=3000), min_size=1, max_size=4))
def test_all_fit_is_an_upper_bound(texts):
    docs = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    max_bytes = 9_000
    if all_fit(docs, max_bytes):
        assert all(_ascii_size(d) + 1024 < max_bytes for d in docs)
    assert len(orjson.dumps(docs)) * ASCII_EXPANSION >= max(map(_ascii_size, docs))


def test_an_object_session_with_no_messages_keeps_its_field():
    p = planner.plan("contoso", "u", {"chat_session_s1": '{"messages": [], "title": "t"}'})
    session = next(d for d in p.documents if d["type"] == "chat_session")
    assert session["messagesField"] == "messages" and session["messageCount"] == 0


@given(st.text(), st.booleans())
def test_unescaped_reads_a_json_string_body_as_json_does(text, ensure_ascii):
    body = json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]
    assert value_parsing.unescaped(body) == text


@pytest.mark.parametrize("text, seen", [
    ('{"sk\\u002dabc": \\u002d0.0}', '{"sk-abc": -0.0}'),  # not JSON (a bare escape), still decoded
    ("a\\/b\\qc", "a/bqc"), ("tail\\", "tail"), ("x\\u00G", "xG"), ("\\x41\\N\\U\\0", "x41NU0"),
    ("a\\\\qb", "a\\qb"), ("é😀\\u0041", "é😀A"),
])
def test_unescaped_on_text_that_is_not_json(text, seen):
    assert value_parsing.unescaped(text) == seen
