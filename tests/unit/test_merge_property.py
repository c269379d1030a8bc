"""Issue 11: sequences of 1-4 browsers' payloads for one user, through the pure merge, planner and exporter
(the service's path without its I/O): zero loss, identical items once, order-independent, counts add up,
and a crash mid-merge then a retry converges."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from migration.domain import exporter, merge, merge_items, merge_plan, planner
from migration.domain.merge_items import canonical

T, U = "contoso", "user-1"
AGENTS, CONFIGS = f"ai_agents_{T}", f"user_llm_configs_{T}"
CONVERSATION = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(6)]

agent = st.builds(lambda i, n, t: {k: v for k, v in (("id", i), ("name", n), ("updatedAt", t)) if v is not None},
                  st.sampled_from(["a", "b", "c", None]), st.sampled_from(["Writer", "Coder", "Edited"]),
                  st.sampled_from([None, None, 1_700_000_000_000, "2024-06-01T00:00:00Z"]))
config = st.builds(lambda i, k: {"id": i, "provider": "openai", "apiKey": f"sk-test-{k}-0123456789abcdef"},
                   st.sampled_from(["c1", "c2"]), st.sampled_from(["one", "two"]))
session = st.builds(lambda n, fork: CONVERSATION[:n] + ([{"role": "user", "content": f"fork {fork}"}] if fork else []),
                    st.integers(1, 6), st.sampled_from([None, None, "x", "y"]))


@st.composite
def payload(draw) -> dict[str, str]:
    out: dict[str, str] = {}
    if draw(st.booleans()):
        out[AGENTS] = json.dumps(draw(st.lists(agent, max_size=4, unique_by=lambda a: a.get("id", id(a)))))
    if draw(st.booleans()):
        out[CONFIGS] = json.dumps(draw(st.lists(config, max_size=2, unique_by=lambda c: c["id"])))
    for key in ("chat_session_s1", "chat_session_s2"):
        if draw(st.booleans()):
            out[key] = json.dumps(draw(session))
    for key, values in (("theme", ["dark", "light"]), ("language", ["fr", "de", "{\"a\": 1}"])):
        if draw(st.booleans()):
            out[key] = draw(st.sampled_from(values))
    out["auth_token"] = "never stored"
    return out


Store = tuple[dict[str, dict], dict[str, str]]


def items_sent(family: str, text: str) -> int:
    kind, items = merge_items.split(family, text)
    return len(items)


def request(store: Store, browser: str, data: dict[str, str], crash_after: int | None = None) -> dict | None:
    """One migrate (the user's first) or merge, as the service runs it; `crash_after` stops after that many
    document writes (no deletes, no completion)."""
    docs, secrets = store
    own = planner.plan(T, U, data, browser_id=browser)
    assert own.counts["received"] == own.counts["migrated"] + own.counts["quarantined"] + own.counts["ignored"]
    if not docs:
        planned, outcomes = own, None
    else:
        mid = planner.migration_id_for(T, U, own.payload_sha256, browser, merge=True)
        state = merge_plan.load(T, [json.loads(json.dumps(d)) for d in docs.values()], secrets)
        sent = merge_plan.incoming(own, data, T)
        outcomes = merge.merge(state, sent, browser, mid)
        # The accounting adds up: every sent item is counted once, per family.
        for o, (_key, family, text) in zip(outcomes, sent, strict=True):
            assert sum(o.counts.values()) == items_sent(family, text)
        planned, _ = merge_plan.plan_state(T, U, state, browser_id=browser, migration_id=mid,
                                           max_document_bytes=1_500_000, limits=planner.Limits())
    secrets.update(planned.secrets)
    writes, deletes = merge_plan.changes(list(docs.values()), planned.documents)
    for n, d in enumerate(writes):
        if crash_after is not None and n >= crash_after:
            return None
        docs[d["id"]] = json.loads(json.dumps(d))
    for i in deletes:
        docs.pop(i)
    return merge.summary(outcomes) if outcomes is not None else None


def exported(store: Store) -> tuple[dict[str, str], list[dict]]:
    docs, secrets = store
    whole = [json.loads(json.dumps(d)) for d in docs.values()]
    return exporter.rebuild(whole, secrets), merge_plan.copies_for_export(whole, secrets)


def stored_versions(store: Store) -> Counter:
    """Every stored item (key, canonical value), live or a conflict copy."""
    live, copies = exported(store)
    out: Counter = Counter()
    for key, text in live.items():
        out.update(_items(key, text))
    for c in copies:
        out.update(_items(c["key"], c["value"]))
    return out


def _items(key: str, text: str) -> list[tuple[str, str]]:
    family = merge_plan.family_of(key, T)
    kind, items = merge_items.split(family, text)
    return [(key, canonical(v) if kind != "whole" else merge_items.whole_canon(v)) for _, v in items]


def assert_nothing_lost(store: Store, latest: dict[str, dict[str, str]]) -> None:
    stored = stored_versions(store)
    sessions = [(k, json.loads(v)) for k, v in stored if k.startswith("chat_session_")]
    for browser, data in latest.items():
        for key, text in data.items():
            if key == "auth_token":
                continue
            for item in _items(key, text):
                if key.startswith("chat_session_"):  # held as itself or as a prefix of a longer one
                    value = json.loads(item[1])
                    assert any(k == key and (canonical(s) == item[1] or merge_items.continues(s, value))
                               for k, s in sessions), (browser, key)
                else:
                    assert item in stored, (browser, key, item)


browsers_payloads = st.lists(st.tuples(st.sampled_from(["b1", "b2", "b3", "b4"]), payload()), min_size=1,
                             max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=browsers_payloads, data=st.data())
def test_every_browser_merges_with_zero_loss_in_any_order(events, data):
    store: Store = ({}, {})
    latest: dict[str, dict[str, str]] = {}
    for browser, payload_ in events:
        request(store, browser, payload_)
        latest[browser] = payload_
    assert_nothing_lost(store, latest)
    # Identical items are stored once (collection items with an id: copies and live never repeat a value).
    with_ids = [(k, v) for (k, v), n in stored_versions(store).items() if n > 1 and '"id"' in v]
    assert with_ids == []

    # Another order of the same requests (each browser's own requests kept in their order): same items.
    order = data.draw(st.permutations(range(len(events))))
    per_browser: dict[str, list] = {}
    for i in order:
        per_browser.setdefault(events[i][0], [])
    queues = {b: [p for bb, p in events if bb == b] for b in per_browser}
    other: Store = ({}, {})
    for i in order:
        b = events[i][0]
        request(other, b, queues[b].pop(0))
    assert set(stored_versions(other)) == set(stored_versions(store)), (events, order)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=payload(), second=payload(), crash_after=st.integers(0, 12))
def test_a_crash_mid_merge_then_a_retry_converges(first, second, crash_after):
    clean: Store = ({}, {})
    request(clean, "b1", first)
    request(clean, "b2", second)
    crashed: Store = ({}, {})
    request(crashed, "b1", first)
    request(crashed, "b2", second, crash_after=crash_after)
    assert_nothing_lost(crashed, {"b1": first})            # what was stored before is still there
    request(crashed, "b2", second)                          # the client retries
    assert exported(crashed) == exported(clean)


def test_a_retry_changes_nothing_and_counts_unchanged():
    store: Store = ({}, {})
    a = {AGENTS: json.dumps([{"id": "a", "name": "x"}]), "chat_session_s1": json.dumps(CONVERSATION[:2])}
    b = {AGENTS: json.dumps([{"id": "a", "name": "y"}, {"id": "b"}]), "chat_session_s1": json.dumps(CONVERSATION)}
    request(store, "A", a)
    first = request(store, "B", b)
    assert (first["added"], first["updated"], first["conflicts"]) == (1, 1, 1)
    before = json.dumps(store[0], sort_keys=True)
    again = request(store, "B", b)
    assert (again["added"], again["updated"], again["conflicts"], again["unchanged"]) == (0, 0, 0, 3)
    after = {i: d for i, d in store[0].items() if d["type"] != "manifest"}
    assert {i: {k: v for k, v in d.items() if k not in ("migrationId",)} for i, d in after.items()} == {
        i: {k: v for k, v in d.items() if k not in ("migrationId",)} for i, d in json.loads(before).items()
        if d["type"] != "manifest"}


@pytest.mark.parametrize("a,b,same", [
    ({"t": 1.0}, {"t": 1}, True), ({"t": 1e2}, {"t": 100}, True), ([0.5], [0.5], True),
    ({"t": True}, {"t": 1}, False), ({"t": 1.5}, {"t": 1}, False), ({"t": "1"}, {"t": 1}, False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True), (2**60, float(2**60), True),
])
def test_items_are_compared_as_a_browser_holds_them(a, b, same):
    """JSON.parse then JSON.stringify (what any app does when it re-saves a list) turns `1.0` into `1`: the
    same item to a browser, so the same item to the merge (never a false conflict)."""
    assert (merge_items.canonical(a) == merge_items.canonical(b)) is same
