"""One stored or sent key as the merge sees it: its shape (array, object, session or whole text), its items
with their identities, and the versions each item holds. Pure; the rules that change them are in merge.py."""
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


def item_canon(kind: str, value: Any) -> str:
    return whole_canon(value) if kind == "whole" else canonical(value)


def messages_of(session: Any) -> list:
    if isinstance(session, list):
        return session
    messages = session.get("messages") if isinstance(session, dict) else None
    return messages if isinstance(messages, list) else []


def continues(longer: Any, shorter: Any) -> bool:
    """`longer` is a strict continuation of `shorter`: its messages start with all of shorter's."""
    a, b = messages_of(shorter), messages_of(longer)
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
                                                                     item_canon(kind, value)))
    for ident, text, holders, origin in copies:
        value = _copy_value(kind, text)
        if value is _UNREADABLE:
            ident, value = (ident if kind == "whole" else ""), text
        item = ks.items.setdefault(ident, Item([]))
        item.versions.append(Version(value, set(holders), origin, item_canon(kind, value)))
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


def as_whole(ks: KeyState) -> KeyState:
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
