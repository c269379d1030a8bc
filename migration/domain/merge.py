"""Merging one browser's localStorage into what is stored, with zero loss. Pure, table-driven, no I/O.

Every item is a small multi-value register: a collection item (matched by id, by `#<position>` when it has
none), a chat session (by its key) or a preference / raw / unknown key (as a whole). The register keeps the
distinct versions browsers sent, each with its `holders`: the browsers whose latest payload holds it. When
browser X sends version v of an item, X leaves every holder set of that item, then:

| v against the stored versions                      | effect                                        | counted   |
|----------------------------------------------------|-----------------------------------------------|-----------|
| no version stored                                  | v stored, live                                | added     |
| equal to a version (sessions: a prefix of one)     | X joins its holders (`X:<n>` for a prefix)    | unchanged |
| a session that continues a version (its prefix)    | v replaces it; its holders now hold a prefix  | updated   |
| X's own earlier version, now held by nobody        | v replaces it in place                        | updated   |
| anything else                                      | v stored beside them (a conflict copy)        | conflicts |

A version left with no holders is superseded (X's own earlier edit) and goes; that is the only removal (a
session held only as a prefix shrinks to the longest prefix held, then joins any session continuing it). One
version is live, the others are conflict copies; the live one stays live while it has holders, unless it and
another carry comparable modification times, then the newer is live. The stored versions thus depend only on
each browser's latest payload, never on the order the merges came in; identical items are stored once.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from migration.domain.merge_items import (
    FAMILIES,
    Item,
    KeyOutcome,
    KeyState,
    Origin,
    Version,
    as_whole,
    canonical,
    continues,
    item_canon,
    messages_of,
    mtime,
    split,
)

OUTCOMES = ("added", "unchanged", "updated", "conflicts")


def holder_browser(holder: str) -> str:
    """Holders are browser ids; a session's holder whose payload is a strict prefix is `<browser>:<count>`."""
    return holder.split(":", 1)[0]


def _truncate(session: Any, n: int) -> Any:
    if isinstance(session, list):
        return session[:n]
    return {**session, "messages": messages_of(session)[:n]}


def _move_front(item: Item, version: Version) -> None:
    item.versions.remove(version)
    item.versions.insert(0, version)


def _settle_sessions(item: Item) -> None:
    """Keep exactly the longest sessions browsers hold: a version held only as a prefix shrinks to the longest
    prefix held; a version that another continues (or equals) joins it, its holders held as prefixes; a
    version held by nobody goes. The versions left are each a browser's latest session, none a prefix of
    another, whatever the order the browsers came in."""
    while True:
        for v in item.versions:
            if not v.holders:
                item.versions.remove(v)
                break
            if all(":" in h for h in v.holders):
                n = max(int(h.split(":")[1]) for h in v.holders)
                v.value = _truncate(v.value, n)
                v.canon = canonical(v.value)
                v.holders = {holder_browser(h) if int(h.split(":")[1]) == n else h for h in v.holders}
                break
            w = next((w for w in item.versions if w is not v and (w.canon == v.canon or continues(w.value, v.value))),
                     None)
            if w is not None:
                length = len(messages_of(v.value))
                longer = w.canon != v.canon
                w.holders |= {(f"{h}:{length}" if ":" not in h else h) if longer else h for h in v.holders}
                was_live = item.versions[0] is v
                item.versions.remove(v)
                if was_live:
                    _move_front(item, w)
                break
        else:
            return


def _offer_session(item: Item, value: Any, browser: str, origin: Origin) -> str:
    canon = canonical(value)
    prev = next((v for v in item.versions if any(holder_browser(h) == browser for h in v.holders)), None)
    prev_canon = prev.canon if prev else None
    if prev is not None and (browser in prev.holders and prev.canon == canon or
                             f"{browser}:{len(messages_of(value))}" in prev.holders and continues(prev.value, value)):
        return "unchanged"  # what this browser sent before (a retry): nothing moves
    for v in item.versions:
        v.holders = {h for h in v.holders if holder_browser(h) != browser}
    _settle_sessions(item)
    result = "unchanged"
    match = next((v for v in item.versions if v.canon == canon), None)
    if match is not None:
        match.holders.add(browser)
    elif (longer := next((v for v in item.versions if continues(v.value, value)), None)) is not None:
        longer.holders.add(f"{browser}:{len(messages_of(value))}")  # the stored session continues this one
    elif (shorter := next((v for v in item.versions if continues(value, v.value)), None)) is not None:
        n = len(messages_of(shorter.value))  # appended: its holders now hold a prefix of the longer one
        shorter.holders = {h if ":" in h else f"{h}:{n}" for h in shorter.holders} | {browser}
        shorter.value, shorter.canon, shorter.origin = value, canon, origin
        result = "updated"
    else:
        item.versions.append(Version(value, {browser}, origin, canon))
        result = "conflicts"
    _settle_sessions(item)
    if prev_canon is not None and prev_canon != canon and prev_canon not in {v.canon for v in item.versions}:
        result = "updated"  # this browser's own earlier session is gone: replaced by what it sends now
    return result


def offer(ks: KeyState, ident: str, value: Any, browser: str, origin: Origin) -> str:
    """Browser `browser` sends `value` for item `ident`: the register rule above. Returns what it counted."""
    canon = item_canon(ks.kind, value)
    item = ks.items.get(ident)
    if item is None:
        ks.items[ident] = Item([Version(value, {browser}, origin, canon)])
        return "added"
    session = ks.kind == "session"
    if session:
        result = _offer_session(item, value, browser, origin)
        _choose_live(ks.kind, item)
        return result
    prev = next((v for v in item.versions if browser in v.holders), None)
    if prev is not None:
        prev.holders.discard(browser)
    match = next((v for v in item.versions if v.canon == canon or (session and continues(v.value, value))), None)
    result = "unchanged"
    if match is None and session:
        match = next((v for v in item.versions if continues(value, v.value)), None)
        if match is not None:  # appended: the longer session replaces the stored prefix, which every holder had
            match.value, match.canon, match.origin = value, canon, origin
            result = "updated"
    if match is None and prev is not None and not prev.holders:
        match, result = prev, "updated"  # this browser's own earlier version, edited since
        match.value, match.canon, match.origin = value, canon, origin
    if match is None:
        match, result = Version(value, set(), origin, canon), "conflicts"
        item.versions.append(match)
    match.holders.add(browser)
    if prev is not None and prev is not match and not prev.holders:
        was_live = item.versions[0] is prev
        item.versions.remove(prev)  # superseded: nobody's latest payload holds it any more
        if was_live:
            item.versions.remove(match)
            item.versions.insert(0, match)
        if result == "unchanged":
            result = "updated"
    _choose_live(ks.kind, item)
    return result


def _choose_live(kind: str, item: Item) -> None:
    if len(item.versions) < 2:
        return
    live_time = mtime(kind, item.versions[0].value)
    if live_time is None:
        return
    best, best_time = item.versions[0], live_time
    for v in item.versions[1:]:
        t = mtime(kind, v.value)
        if t is not None and t > best_time:
            best, best_time = v, t
    if best is not item.versions[0]:
        item.versions.remove(best)
        item.versions.insert(0, best)


def merge(stored: dict[str, KeyState], incoming: list[tuple[str, str, str]], browser: str,
          migration_id: str) -> list[KeyOutcome]:
    """Merge one browser's keys ([(key, family, text)], only keys that are stored, none ignored) into
    `stored` (changed in place). Keys the browser did not send are untouched."""
    outcomes = []
    for key, family, text in incoming:
        kind, items = split(family, text)
        ks = stored.get(key)
        new = ks is None
        if ks is None:
            ks = stored[key] = KeyState(key, family, kind)
        elif ks.kind != kind:
            ks = stored[key] = as_whole(ks)
            items = [("", text)]
        counts: Counter = Counter()
        for ident, value in items:
            counts[offer(ks, ident, value, browser, (browser, migration_id))] += 1
        state = ("new" if new else "conflict" if counts["conflicts"] else
                 "changed" if counts["added"] or counts["updated"] else "unchanged")
        outcomes.append(KeyOutcome(key, family, state, counts))
    return outcomes


def summary(outcomes: list[KeyOutcome]) -> dict:
    """The result's `merge` field: totals and per family (items for collections, sessions/keys otherwise)."""
    by_family: dict[str, Counter] = {f: Counter() for f in FAMILIES}
    for o in outcomes:
        by_family[o.family].update(o.counts)
    fam = {f: {k: c[k] for k in OUTCOMES} for f, c in by_family.items()}
    return {**{k: sum(c[k] for c in by_family.values()) for k in OUTCOMES}, "by_family": fam}


def stored_comparison(outcomes: list[KeyOutcome]) -> dict:
    """The preview's `stored` field."""
    counts = Counter(o.state for o in outcomes)
    return {"counts": {s: counts[s] for s in ("new", "unchanged", "changed", "conflict")},
            "keys": [{"key": o.key, "state": o.state} for o in outcomes]}


def unsaved(outcomes: list[KeyOutcome]) -> int:
    return sum(o.state != "unchanged" for o in outcomes)
