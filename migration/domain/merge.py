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

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from migration.domain import models
from migration.domain.families import Family
from migration.domain.planner import MAX_VALUE_DEPTH, dumps_value, parse_json
from shared.json_depth import deeper_than

FAMILIES = ("agents", "llm_configs", "mcp_servers", "chat_sessions", "preferences", "unknown")
FAMILY_OF = {Family.AGENTS: "agents", Family.LLM_CONFIGS: "llm_configs", Family.MCP_SERVERS: "mcp_servers",
             Family.CHAT_SESSION: "chat_sessions", Family.PREFERENCES: "preferences", Family.UNKNOWN: "unknown"}
_COLLECTIONS = frozenset({"agents", "llm_configs", "mcp_servers"})
# Fields read as an item's modification time (the first present wins); epoch s/ms or ISO text.
MTIME_FIELDS = ("updatedAt", "updated_at", "modifiedAt", "modified_at", "lastModified", "last_modified",
                "lastUpdated", "last_updated", "modified", "mtime")
OUTCOMES = ("added", "unchanged", "updated", "conflicts")

Origin = tuple[str, str]  # (browser id, migration id) that first stored a version


def _as_js(value: Any) -> Any:
    """Numbers as JavaScript holds them: one double, so `1`, `1.0` and `1e0` are the same number (a browser
    that parses and re-saves a value turns `1.0` into `1`); `true` stays a boolean."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        f = float(value)
        return int(f) if f.is_integer() and abs(f) < 1e21 else f
    if isinstance(value, dict):
        return {k: _as_js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_js(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """Identity of a JSON value as a browser sees it: key order is not data, numbers are doubles."""
    return json.dumps(_as_js(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def whole_canon(text: str) -> str:
    ok, value = parse_json(text)
    return "j" + canonical(value) if ok else "t" + text


@dataclass
class Version:
    value: Any                 # a collection item, a session (parsed), or a whole key's text
    holders: set[str]
    origin: Origin
    canon: str = ""


@dataclass
class Item:
    versions: list[Version]    # [0] is live, the others are conflict copies


@dataclass
class KeyState:
    key: str
    family: str
    kind: str                  # array | object | session | whole
    items: dict[str, Item] = field(default_factory=dict)  # in live order

    def live_text(self) -> str:
        live = [(ident, it.versions[0].value) for ident, it in self.items.items()]
        if self.kind == "array":
            return dumps_value([v for _, v in live])
        if self.kind == "object":
            return dumps_value({ident.removeprefix("slot:"): v for ident, v in live})
        return live[0][1] if self.kind == "whole" else dumps_value(live[0][1])

    def copy_text(self, ident: str, version: Version) -> str:
        """A conflict copy in the form of a rollback_data value (a collection holding just that item)."""
        if self.kind == "array":
            return dumps_value([version.value])
        if self.kind == "object":
            return dumps_value({ident.removeprefix("slot:"): version.value})
        return version.value if self.kind == "whole" else dumps_value(version.value)


@dataclass
class KeyOutcome:
    key: str
    family: str
    state: str                 # new | unchanged | changed | conflict
    counts: Counter


def _structured(text: str) -> tuple[bool, Any]:
    ok, value = parse_json(text)
    if not ok or (isinstance(value, (dict, list)) and deeper_than(value, MAX_VALUE_DEPTH)):
        return False, None
    return True, value


def array_idents(items: list) -> list[str]:
    """An item's id when it has one (the first of duplicates), else its position."""
    seen: set[str] = set()
    out = []
    for pos, item in enumerate(items):
        ident = None
        if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and not isinstance(item["id"], bool):
            ident = "id:" + json.dumps(item["id"], ensure_ascii=False)
        if ident is None or ident in seen:
            ident = f"#{pos}"
        seen.add(ident)
        out.append(ident)
    return out


def split(family: str, text: str) -> tuple[str, list[tuple[str, Any]]]:
    """(kind, [(ident, value)]) of one key's text."""
    if family in _COLLECTIONS:
        ok, value = _structured(text)
        if ok and isinstance(value, list):
            return "array", list(zip(array_idents(value), value, strict=True))
        if ok and isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            return "object", [("slot:" + k, v) for k, v in value.items()]
    elif family == "chat_sessions":
        ok, value = _structured(text)
        if ok and isinstance(value, (list, dict)):
            return "session", [("", value)]
    return "whole", [("", text)]


def _canon(kind: str, value: Any) -> str:
    return whole_canon(value) if kind == "whole" else canonical(value)


def _messages(session: Any) -> list:
    if isinstance(session, list):
        return session
    messages = session.get("messages") if isinstance(session, dict) else None
    return messages if isinstance(messages, list) else []


def continues(longer: Any, shorter: Any) -> bool:
    """`longer` is a strict continuation of `shorter`: its messages start with all of shorter's."""
    a, b = _messages(shorter), _messages(longer)
    return len(a) < len(b) and all(canonical(x) == canonical(y) for x, y in zip(a, b, strict=False))


def mtime(kind: str, value: Any) -> float | None:
    if kind == "whole":
        ok, value = parse_json(value)
        if not ok:
            return None
    if not isinstance(value, dict):
        return None
    for name in MTIME_FIELDS:
        if name in value:
            iso = models.normalize_timestamp(value[name])
            return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None
    return None


def load_key(key: str, family: str, live_text: str, meta: list[tuple[str | None, set[str], Origin]],
             copies: list[tuple[str, str, set[str], Origin]]) -> KeyState:
    """A stored key: its live text, per live item (in order) its stored ident, holders and origin, and its
    conflict copies (ident, text in rollback form, holders, origin)."""
    kind, items = split(family, live_text)
    ks = KeyState(key, family, kind)
    fallback = meta[0] if meta else (None, {"default"}, ("default", ""))
    for n, (ident, value) in enumerate(items):
        stored_ident, holders, origin = meta[n] if n < len(meta) and kind in ("array", "object") else fallback
        if kind == "array" and stored_ident:
            ident = stored_ident  # an id-less item keeps the position it was first stored under
        ks.items.setdefault(ident, Item([])).versions.append(Version(value, set(holders), origin,
                                                                     _canon(kind, value)))
    for ident, text, holders, origin in copies:
        value = _copy_value(kind, text)
        if value is _UNREADABLE:
            ident, value = (ident if kind == "whole" else ""), text
        item = ks.items.setdefault(ident, Item([]))
        item.versions.append(Version(value, set(holders), origin, _canon(kind, value)))
    return ks


_UNREADABLE = object()


def _copy_value(kind: str, text: str) -> Any:
    if kind == "whole":
        return text
    ok, value = _structured(text)
    if not ok:
        return _UNREADABLE
    if kind == "array":
        return value[0] if isinstance(value, list) and len(value) == 1 else _UNREADABLE
    if kind == "object":
        return next(iter(value.values())) if isinstance(value, dict) and len(value) == 1 else _UNREADABLE
    return value


def _as_whole(ks: KeyState) -> KeyState:
    """A key stored in one shape and sent in another: compared as whole texts (nothing is dropped)."""
    out = KeyState(ks.key, ks.family, "whole")
    holders = set().union(*(it.versions[0].holders for it in ks.items.values())) if ks.items else set()
    first = next(iter(ks.items.values())).versions[0].origin if ks.items else ("default", "")
    text = ks.live_text()
    versions = [Version(text, holders, first, whole_canon(text))]
    for ident, it in ks.items.items():
        for v in it.versions[1:]:
            copy = ks.copy_text(ident, v)
            versions.append(Version(copy, set(v.holders), v.origin, whole_canon(copy)))
    out.items[""] = Item(versions)
    return out


def holder_browser(holder: str) -> str:
    """Holders are browser ids; a session's holder whose payload is a strict prefix is `<browser>:<count>`."""
    return holder.split(":", 1)[0]


def _truncate(session: Any, n: int) -> Any:
    if isinstance(session, list):
        return session[:n]
    return {**session, "messages": _messages(session)[:n]}


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
                length = len(_messages(v.value))
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
                             f"{browser}:{len(_messages(value))}" in prev.holders and continues(prev.value, value)):
        return "unchanged"  # what this browser sent before (a retry): nothing moves
    for v in item.versions:
        v.holders = {h for h in v.holders if holder_browser(h) != browser}
    _settle_sessions(item)
    result = "unchanged"
    match = next((v for v in item.versions if v.canon == canon), None)
    if match is not None:
        match.holders.add(browser)
    elif (longer := next((v for v in item.versions if continues(v.value, value)), None)) is not None:
        longer.holders.add(f"{browser}:{len(_messages(value))}")  # the stored session continues this one
    elif (shorter := next((v for v in item.versions if continues(value, v.value)), None)) is not None:
        n = len(_messages(shorter.value))  # appended: its holders now hold a prefix of the longer one
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
    canon = _canon(ks.kind, value)
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
            ks = stored[key] = _as_whole(ks)
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
