"""The migration plan: every received key accounted for exactly once, and the documents to write. Pure.

plan() never raises on user data. A key is `migrated` (documents written), `quarantined` (kept raw in a
quarantine document with a reason) or `ignored` (with a reason; it stays in the browser).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Callable, Iterable

import orjson

from migration.domain import models
from migration.domain.families import Classification, Disposition, Family, classify
from migration.domain.secret_fields import (
    PIECE_CHARS,
    PLACEHOLDER_PREFIX,
    Patterns,
    SecretSlot,
    extract,
    extract_text,
    flat_and_plain,
    is_secret_name,
    looks_secret,
    may_hold_high_confidence,
    vault_name,
)
from shared.json_depth import deeper_than
from shared.strict_json import DuplicateKey, unique_pairs

SCHEMA_VERSION = 1
DEFAULT_BROWSER = "default"  # requests without a browser id (the seed's frontend) count as one browser
# Deeper values are kept raw (quarantined `too_deep`): Cosmos DB refuses deeply nested items, and copies and
# walks of such values would hit Python's recursion limit. Real configs nest a handful of levels.
MAX_VALUE_DEPTH = 64
_PARSE_DEPTH = 500  # below Python 3.11's json recursion ceiling, so every interpreter parses the same texts
_PAYLOAD_FIELDS = ("data", "content", "raw", "value", "keys", "secretRefs")
DATA_TYPES = ("agent", "llm_config", "mcp_server", "chat_session", "chat_message", "preferences",
              "quarantine", "chunk", "manifest", "conflict")

# Seed's merged-preferences categories, by the key's name (`ui_preferences_<t>` -> `ui_preferences`).
_MERGED_CATEGORIES = (("ui_preferences", "ui_preferences"), ("notification", "notification_preferences"),
                      ("privacy", "privacy_settings"))


# The response lists this many warnings (the first ones) and counts them all: one per bad item would let a
# 400 KB body of junk items make an 11 MB response.
LISTED_WARNINGS = 20


@dataclass(frozen=True)
class Limits:
    """What one plan may cost (README "Bounds"). A key over its share is kept whole; a plan over a total is
    refused before anything is written."""
    max_documents: int = 100_000
    max_items_per_key: int = 20_000
    max_secrets: int = 2_000
    max_keys: int = 10_000


class PlanTooLarge(Exception):
    """The payload would cost more than a limit allows; nothing is written. Carries no user data."""

    def __init__(self, code: str, limit: int, what: str):
        super().__init__(what)
        self.code, self.limit, self.what = code, limit, what


class _NotJson(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(name)  # NaN / Infinity: JSON.parse refuses them, so the value is not JSON


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotJson(text)
    return value


_MAX_DOUBLE = 1.7976931348623157e308


def _finite_int(text: str) -> int:
    value = int(text)
    if abs(value) > _MAX_DOUBLE:  # JSON.parse makes it Infinity, and Cosmos DB stores numbers as doubles
        raise _NotJson(text)
    return value


def _loads(text: str, **hooks: Any) -> Any:
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite, parse_int=_finite_int, **hooks)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nests_deeper_than(text: str, limit: int) -> bool:
    """Bracket nesting outside strings, without parsing: strings are cut out and the brackets summed, both at C
    speed (a Python loop per character cost seconds on a 30 MB value)."""
    if text.count("[") + text.count("{") <= limit:  # C-speed: too few openings to nest that deep at all
        return False
    brackets = _BRACKET.findall(_JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is JSON as the browser's JSON.parse sees it; else (False, None).

    An object with a duplicate key is not taken as JSON: JSON.parse keeps the last value, but the text still
    holds the first (`{"token":"S","token":""}`), so such a value stays text (exact, and vault-bound)."""
    # json's recursion ceiling differs by interpreter (Python 3.11 stops near 1,000 levels, 3.13 goes deeper):
    # past _PARSE_DEPTH every interpreter answers "not JSON", so a value's fate does not depend on the runtime.
    if len(text) > 2 * _PARSE_DEPTH and _nests_deeper_than(text, _PARSE_DEPTH):
        return False, None
    try:
        return True, _loads(text, object_pairs_hook=unique_pairs)
    except (ValueError, _NotJson, RecursionError):
        return False, None


def has_duplicate_keys(text: str) -> bool:
    try:
        _loads(text, object_pairs_hook=unique_pairs)
    except DuplicateKey:
        return True
    except (ValueError, _NotJson, RecursionError):
        return False
    return False


def parse_structured(text: str) -> Any:
    """A value to split into documents: JSON, and no deeper than Cosmos DB and our own walks can take."""
    ok, value = parse_json(text)
    if not ok:
        raise _Quarantine("duplicate_key" if has_duplicate_keys(text) else "invalid_json")
    if deeper_than(value, MAX_VALUE_DEPTH):
        raise _Quarantine("too_deep")
    return value


def dumps_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def user_tag(user: str) -> str:
    """Ids carry the user: real Cosmos scopes ids by the full partition key, but the local stand-in only by
    its first component (the tenant), and ids unique per tenant are harmless on real Cosmos."""
    return sha256_text(user)[:10]


def key_hash(user: str, key: str) -> str:
    return sha256_text(user_tag(user) + "\x00" + key)[:16]


def manifest_id(user: str) -> str:
    return f"manifest.{user_tag(user)}"


def merged_preferences_id(user: str) -> str:
    return f"preferences.merged.{user_tag(user)}"


@dataclass
class KeyOutcome:
    key: str
    sha256: str | None  # of the value as kept (secrets swapped); None for ignored keys
    disposition: Disposition
    reason: str | None = None
    family: str | None = None
    documents: int = 0
    shape: str | None = None

    def manifest_entry(self) -> dict:
        entry = {"key": self.key, "disposition": self.disposition.value, "documents": self.documents}
        for name in ("sha256", "reason", "family", "shape"):
            if getattr(self, name) is not None:
                entry[name] = getattr(self, name)
        return entry


@dataclass
class Plan:
    tenant: str
    user: str
    migration_id: str
    payload_sha256: str
    browser_id: str = DEFAULT_BROWSER
    documents: list[dict] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)            # vault name -> value
    keys: list[KeyOutcome] = field(default_factory=list)
    backup_values: dict[str, str] = field(default_factory=dict)      # what the backup holds, secrets swapped
    warnings: list[str] = field(default_factory=list)   # the first LISTED_WARNINGS
    warning_count: int = 0
    limits: Limits = field(default_factory=Limits)
    summary: dict[str, int] = field(default_factory=lambda: {
        "agents": 0, "llm_configs": 0, "mcp_servers": 0, "chat_sessions": 0, "chat_messages": 0,
        "preferences": 0})

    def count(self, disposition: Disposition) -> int:
        return sum(1 for k in self.keys if k.disposition is disposition)

    @property
    def counts(self) -> dict[str, int]:
        return {"received": len(self.keys), "migrated": self.count(Disposition.MIGRATED),
                "quarantined": self.count(Disposition.QUARANTINED), "ignored": self.count(Disposition.IGNORED)}

    def listed(self, disposition: Disposition) -> list[dict]:
        return [{"key": k.key, "reason": k.reason} for k in self.keys if k.disposition is disposition]

    @property
    def migrated_records(self) -> int:
        return sum(self.summary.values())

    def warn(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < LISTED_WARNINGS:
            self.warnings.append(message)

    def check_totals(self) -> None:
        if len(self.documents) > self.limits.max_documents:
            raise PlanTooLarge("TOO_MANY_DOCUMENTS", self.limits.max_documents, "documents")
        if len(self.secrets) > self.limits.max_secrets:
            raise PlanTooLarge("TOO_MANY_SECRETS", self.limits.max_secrets, "secret values")


def envelope(plan: "Plan", doc_type: str, doc_id: str, **fields: Any) -> dict:
    """The one document envelope: type, ownership (tenant, user, the migration and browser that wrote it) and
    `schemaVersion`. Every document the planner makes starts here."""
    d = {"id": doc_id, "type": doc_type, "tenantId": plan.tenant, "userId": plan.user,
         "migrationId": plan.migration_id, "browserId": plan.browser_id, "schemaVersion": SCHEMA_VERSION}
    d.update(fields)
    return d


class _KeyBuilder:
    """Builds the documents of one key; collects its secrets and its backup value."""

    def __init__(self, plan: Plan, key: str, text: str):
        self.plan, self.key, self.text = plan, key, text
        self.kh = key_hash(plan.user, key)
        self.docs: list[dict] = []
        self.slots: list[SecretSlot] = []
        self.backup_dirty = False

    def doc(self, doc_type: str, doc_id: str, **fields: Any) -> dict:
        d = envelope(self.plan, doc_type, doc_id, sourceKey=self.key)
        d.update(fields)
        self.docs.append(d)
        return d

    def extract(self, value: Any, base: tuple = (), **kw: Any) -> tuple[Any, list[dict] | None]:
        ext = extract(value, tenant=self.plan.tenant, user=self.plan.user, source_key=self.key, base=base, **kw)
        if not ext.slots:
            return value, None
        self.slots.extend(ext.slots)
        self.backup_dirty = True
        return ext.value, [s.ref() for s in ext.slots]

    def extract_text(self, text: str, base: tuple, doc: dict) -> str:
        """Chat text with high-confidence credentials swapped for placeholders (positions in `contentSecretRefs`)."""
        stored, slots, refs = extract_text(text, tenant=self.plan.tenant, user=self.plan.user,
                                           source_key=self.key, base=base)
        if refs:
            self.slots.extend(slots)
            self.backup_dirty = True
            doc["contentSecretRefs"] = refs
        return stored

    def raw_fields(self, sensitive: bool) -> dict:
        """A raw value kept as-is, or, when it may hold a credential, moved to the vault in pieces."""
        if not self.text or not (sensitive or is_secret_name(self.key) or looks_secret(self.text)
                                 or has_duplicate_keys(self.text)):
            return {"raw": self.text}
        names = []
        for n, start in enumerate(range(0, max(len(self.text), 1), PIECE_CHARS)):
            name = vault_name(self.plan.tenant, self.plan.user, self.key, ("raw", n))
            self.slots.append(SecretSlot(("raw", n), name, self.text[start:start + PIECE_CHARS]))
            names.append(name)
        self.backup_dirty = True
        return {"raw": None, "rawSecretRefs": names}

    def backup_value(self, rebuilt: Callable[[], Any] | None) -> str:
        if not self.backup_dirty:
            return self.text
        if rebuilt is None:  # raw value moved to the vault
            return PLACEHOLDER_PREFIX + ",".join(s.name for s in self.slots)
        return dumps_value(rebuilt())


# --- family builders: each adds its key's documents and returns the value's shape, or raises _Quarantine ----

class _Quarantine(Exception):
    def __init__(self, reason: str):
        self.reason = reason


_COLLECTIONS = {
    Family.AGENTS: ("agent", "agents", models.Agent, frozenset()),
    Family.LLM_CONFIGS: ("llm_config", "llm_configs", models.LlmConfig, frozenset({"endpoint"})),
    Family.MCP_SERVERS: ("mcp_server", "mcp_servers", models.McpServer, frozenset()),
}


def _plain(value: Any) -> Any:
    """A typed field's value, or None where the item's value went to the vault: typed fields are copies, and a
    copy of a secret would be a secret in the document (an id shaped like `sk-…`)."""
    return None if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX) else value


def _typed_fields(doc_type: str, model: type, item: Any, data: Any, refs: list[dict] | None) -> dict:
    if models.typed(model, item) is None:
        return {"valid": False}
    # Read from the stored copy (secrets already swapped for placeholders), never from the raw item.
    m: Any = (models.typed(model, data) if refs else None) or models.typed(model, item if not refs else {})
    out: dict[str, Any] = {"itemId": None if _plain(m.id) is None else str(m.id), "name": _plain(m.name)}
    if doc_type == "agent":
        out["llmConfigId"] = None if _plain(m.llmConfigId) is None else str(m.llmConfigId)
        out["mcpServerIds"] = [str(i) for i in m.mcpServerIds or [] if _plain(i) is not None]
    elif doc_type == "llm_config":
        out.update(provider=_plain(m.provider), model=_plain(m.model))
        for ref in refs or []:  # the seed's reference fields
            if ref["path"] == ["apiKey"]:
                out["api_key_vault_secret"] = ref["name"]
            elif ref["path"] == ["endpoint"]:
                out["endpoint_vault_secret"] = ref["name"]
    else:
        out.update(transport=_plain(m.transport), enabled=m.enabled)
    return out


def _within_share(b: _KeyBuilder, items: int) -> None:
    """A key that would explode into more documents than its share is kept whole instead (raw, chunked)."""
    if items > b.plan.limits.max_items_per_key:
        raise _Quarantine("too_many_items")


def _collection(b: _KeyBuilder, family: Family) -> str:
    doc_type, summary_name, model, extra_fields = _COLLECTIONS[family]
    parsed = parse_structured(b.text)
    if isinstance(parsed, list):
        shape, items = "array", [(None, item) for item in parsed]
    elif isinstance(parsed, dict) and all(isinstance(v, dict) for v in parsed.values()):
        shape, items = "object", list(parsed.items())
    else:
        raise _Quarantine("unexpected_shape")
    _within_share(b, len(items))
    rebuilt = []
    for i, (slot, item) in enumerate(items):
        data, refs = b.extract(item, base=(i,), extra_fields=extra_fields, by_pattern=True)
        fields = _typed_fields(doc_type, model, item, data, refs)
        if fields.get("valid") is False:
            b.plan.warn(f"{b.key}[{i}]: not a valid {doc_type}; kept as it was")
        doc = b.doc(doc_type, f"{doc_type}.{b.kh}.{i:05d}", position=i, data=data, **fields)
        if slot is not None:
            doc["slot"] = slot
        if refs:
            doc["secretRefs"] = refs
        rebuilt.append((slot, data))
    b.plan.summary[summary_name] += len(items)
    b.plan.backup_values[b.key] = b.backup_value(
        lambda: [d for _, d in rebuilt] if shape == "array" else {s: d for s, d in rebuilt})
    return shape


def _chat_session(b: _KeyBuilder, c: Classification) -> str:
    parsed = parse_structured(b.text)
    messages: list | None
    if isinstance(parsed, list):
        shape, messages, session_data = "array", parsed, None
    elif isinstance(parsed, dict):
        shape = "object"
        messages = parsed.get("messages") if isinstance(parsed.get("messages"), list) else None
        session_data = parsed if messages is None else {k: v for k, v in parsed.items() if k != "messages"}
    else:
        raise _Quarantine("unexpected_shape")
    _within_share(b, len(messages or []))
    # One look at the whole session: most hold no credential-like text at all, and then no message needs
    # its own high-confidence scan (field names are still checked per message).
    scan: Patterns = "high_confidence" if may_hold_high_confidence(messages or []) else "none"
    data, refs = (b.extract(session_data, base=("session",), by_pattern=True) if session_data is not None
                  else (None, None))
    session = b.doc("chat_session", f"chat_session.{b.kh}", sessionId=c.session_id,
                    scope="tenant_global" if c.is_global else "user", shape=shape,
                    messagesField="messages" if shape == "object" and messages is not None else None,
                    messageCount=len(messages or []), data=data)
    if refs:
        session["secretRefs"] = refs
    rebuilt_messages, agent_id, first, last = [], None, None, None
    for i, msg in enumerate(messages or []):
        doc = b.doc("chat_message", f"chat_message.{b.kh}.{i:06d}", sessionId=c.session_id,
                    sequence_number=i + 1)
        if not isinstance(msg, dict):  # a bare string or list is chat data too: same high-confidence check
            data_i, mrefs = b.extract(msg, base=(i,), by_pattern=scan)
            doc.update(itemKind="raw", data=data_i)
            if mrefs:
                doc["secretRefs"] = mrefs
            rebuilt_messages.append(data_i)
            continue
        content_field = next((f for f in ("content", "message") if isinstance(msg.get(f), str)), None)
        rest = msg
        if content_field:
            rest = dict(msg)
            text = rest.pop(content_field)
            doc["content"] = b.extract_text(text, base=(i, content_field), doc=doc) if scan != "none" else text
            doc["contentField"] = content_field
        rest, mrefs = (rest, None) if scan == "none" and flat_and_plain(rest) else b.extract(
            rest, base=(i,), by_pattern=scan)
        # Copies into typed fields come from the stored message (secrets swapped), never from the raw one.
        created = models.normalize_timestamp(rest.get("timestamp", rest.get("createdAt")))
        role = _plain(rest.get("role"))
        doc.update(role=role if isinstance(role, str) else None, created_at=created, data=rest)
        if mrefs:
            doc["secretRefs"] = mrefs
        if agent_id is None and isinstance(rest.get("agentId"), (str, int)) and _plain(rest["agentId"]) is not None:
            agent_id = str(rest["agentId"])
        if created:
            first = first or created
            last = created
        rebuilt_messages.append({**rest, content_field: doc["content"]} if content_field else rest)
    session.update(agentId=agent_id, firstMessageAt=first, lastMessageAt=last)
    b.plan.summary["chat_sessions"] += 1
    b.plan.summary["chat_messages"] += len(rebuilt_messages)

    def rebuilt() -> Any:
        if shape == "array":
            return rebuilt_messages
        out = dict(data) if data is not None else {}
        if session["messagesField"]:
            out["messages"] = rebuilt_messages
        return out
    b.plan.backup_values[b.key] = b.backup_value(rebuilt)
    return shape


def _preferences(b: _KeyBuilder, c: Classification) -> str:
    ok, parsed = parse_json(b.text)
    if ok and isinstance(parsed, (dict, list)) and deeper_than(parsed, MAX_VALUE_DEPTH):
        raise _Quarantine("too_deep")
    doc = b.doc("preferences", f"preferences.{b.kh}", name=c.name)
    if ok and isinstance(parsed, (dict, list)):
        value, refs = b.extract(parsed, by_pattern=True)
        doc["value"] = value
        if refs:
            doc["secretRefs"] = refs
        b.plan.backup_values[b.key] = b.backup_value(lambda: value)
        shape = "json"
    else:  # raw words (`dark`) and JSON scalars keep their exact text
        doc.update(b.raw_fields(sensitive=False))
        b.plan.backup_values[b.key] = b.backup_value(None)
        shape = "text"
    b.plan.summary["preferences"] += 1
    return shape


_KEPT_WHOLE = frozenset({"too_many_items"})
MAX_QUARANTINE_SECRETS = 100


def _quarantine(b: _KeyBuilder, reason: str, family: Family | None, doc_type: str = "quarantine") -> None:
    b.docs.clear()
    b.slots.clear()
    b.backup_dirty = False
    sensitive = family in (Family.LLM_CONFIGS, Family.MCP_SERVERS)
    doc = b.doc(doc_type, f"{doc_type}.{b.kh}", reason=reason, family=family.value if family else None)
    # JSON of an unexpected shape or key gets the same detector as a migrated config: secrets leave by field
    # name and pattern, the rest stays readable. Anything else is text: pattern-scanned, vaulted whole.
    # A key kept whole for its size (or one with very many secrets) stays exact text, vaulted in a few pieces;
    # so does a config family's (its endpoints are secrets too, wherever they sit in an odd shape).
    ok, parsed = parse_json(b.text) if reason not in _KEPT_WHOLE and not sensitive else (False, None)
    if ok and isinstance(parsed, (dict, list)) and not deeper_than(parsed, MAX_VALUE_DEPTH):
        value, refs = b.extract(parsed, by_pattern=True)
        if refs and len(refs) <= MAX_QUARANTINE_SECRETS:
            doc.update(value=value, secretRefs=refs)
            b.plan.backup_values[b.key] = b.backup_value(lambda: value)
            return
        if refs:
            b.slots.clear()
            b.backup_dirty, sensitive = False, True
    doc.update(b.raw_fields(sensitive))
    b.plan.backup_values[b.key] = b.backup_value(None)


def conflict_documents(p: Plan, key: str, copy_id: str, text: str, family: Family | None,
                       **fields: Any) -> tuple[list[dict], str]:
    """A conflict copy of (an item of) `key`: its own `conflict` document, its secrets vaulted like a
    quarantined value of that key (under names of its own), outside the key's documents (`sourceKey` null,
    `conflictKey` names it), so export rebuilds the key from its live documents only. Returns the documents
    (added to the plan with their secrets) and the copy's backup value (secrets swapped)."""
    b = _KeyBuilder(p, f"{key}\x00conflict\x00{copy_id}", text)
    _quarantine(b, "conflict", family, doc_type="conflict")
    b.docs[0].update(sourceKey=None, conflictKey=key, **fields)
    for s in b.slots:
        p.secrets.update(s.vault_entries())
    return b.docs, p.backup_values.pop(b.key)


def _merged_preferences(plan: Plan, prefs: list[dict]) -> dict | None:
    """The seed's single preferences object, derived; each source key keeps its own document, so nothing
    overwrites anything (seed flaw 6). Export ignores this view."""
    if not prefs:
        return None
    view: dict[str, Any] = {"theme": None, "ui_preferences": {}, "notification_preferences": {},
                            "privacy_settings": {}, "advanced_settings": {}}
    for d in prefs:
        value = d.get("value", d.get("raw"))
        if d["name"] == "theme":
            view["theme"] = value
            continue
        if isinstance(value, dict):
            category = next((cat for needle, cat in _MERGED_CATEGORIES if needle in d["name"]),
                            "advanced_settings")
            view[category] = {**view[category], **value}
    return envelope(plan, "preferences", merged_preferences_id(plan.user), view="merged", value=view)


def payload_digest(items: Iterable[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    per_key = {k: sha256_text(v) for k, v in items}
    h = hashlib.sha256()
    for k in sorted(per_key):
        h.update(sha256_text(k).encode())
        h.update(per_key[k].encode())
    return h.hexdigest(), per_key


def migration_id_for(tenant: str, user: str, payload_sha: str, browser_id: str = DEFAULT_BROWSER,
                     merge: bool = False) -> str:
    """Deterministic: a retry of the same payload from the same browser is the same migration (same backup
    path, same ids). Encoded as a JSON array, so no two owners can share an id (`a`/`b\\0c` vs `a\\0b`/`c`)."""
    parts = [tenant, user, payload_sha]
    if browser_id != DEFAULT_BROWSER or merge:
        parts += [browser_id, "merge" if merge else "migrate"]
    return "m-" + sha256_text(json.dumps(parts))[:24]


def plan(tenant: str, user: str, local_storage: dict[str, str], *,
         max_document_bytes: int = 1_500_000, limits: Limits = Limits(), browser_id: str = DEFAULT_BROWSER,
         migration_id: str | None = None, foreign_browser: bool | None = None) -> Plan:
    """Raises PlanTooLarge (and nothing else) when the payload is over a total of `limits`.

    `migration_id` and `foreign_browser` are for merges: the merged state is planned under the merge's id, and
    its keys were each accepted for this tenant already (their browser's own `current_tenant_id` decided)."""
    if len(local_storage) > limits.max_keys:
        raise PlanTooLarge("TOO_MANY_KEYS", limits.max_keys, "keys")
    payload_sha, per_key = payload_digest(local_storage.items())
    p = Plan(tenant, user, migration_id or migration_id_for(tenant, user, payload_sha, browser_id), payload_sha,
             browser_id=browser_id, limits=limits)
    # The browser's last tenant, raw (`contoso`) or JSON (`"contoso"`).
    last_tenant = (local_storage.get("current_tenant_id") or "").strip().strip('"')
    foreign = last_tenant not in ("", tenant) if foreign_browser is None else foreign_browser
    prefs: list[dict] = []
    for key, text in local_storage.items():
        c = classify(key, tenant, foreign_browser=foreign)
        outcome = KeyOutcome(key, None, Disposition.IGNORED)  # no hash of what is not kept (auth_token...)
        if c.family is None:
            outcome.reason = c.ignore.value if c.ignore else None
            p.keys.append(outcome)
            continue
        b = _KeyBuilder(p, key, text)
        warnings_before = (len(p.warnings), p.warning_count)
        outcome.family = c.family.value
        try:
            if c.family is Family.UNKNOWN:
                raise _Quarantine("unknown_key")
            if c.family in _COLLECTIONS:
                outcome.shape = _collection(b, c.family)
            elif c.family is Family.CHAT_SESSION:
                outcome.shape = _chat_session(b, c)
            else:
                outcome.shape = _preferences(b, c)
                prefs.append(b.docs[0])
            outcome.disposition = Disposition.MIGRATED
        except Exception as q:  # noqa: BLE001 - one unreadable key is quarantined, never fails the request
            reason = q.reason if isinstance(q, _Quarantine) else ("too_deep" if isinstance(q, RecursionError)
                                                                 else "unreadable")
            del p.warnings[warnings_before[0]:]
            p.warning_count = warnings_before[1]
            _quarantine(b, reason, c.family if c.family is not Family.UNKNOWN else None)
            outcome.disposition, outcome.reason, outcome.shape = Disposition.QUARANTINED, reason, None
        # The hash of what is kept (secrets swapped for their vault references), never of a raw secret.
        outcome.sha256 = sha256_text(p.backup_values[key])
        p.documents.extend(b.docs)
        for s in b.slots:
            p.secrets.update(s.vault_entries())
        p.keys.append(outcome)
        p.check_totals()  # as it grows: a hostile body stops early instead of filling memory first
    merged = _merged_preferences(p, prefs)
    if merged:
        p.documents.append(merged)
    p.documents = spill(p.documents, max_document_bytes)
    per_key_docs = Counter(d.get("sourceKey") for d in p.documents)
    for k in p.keys:
        if k.disposition is not Disposition.IGNORED:
            k.documents = per_key_docs[k.key]
    # Per-key manifest: what export rebuilds from and what validation counts against. Kept out of the
    # migration record so the record stays small however many keys a browser holds.
    manifest = spill([envelope(p, "manifest", manifest_id(user), keys=[k.manifest_entry() for k in p.keys])],
                     max_document_bytes)
    manifest[0]["unkeyedDocuments"] = per_key_docs[None] + len(manifest)
    p.documents.extend(manifest)
    p.check_totals()
    return p


def _encoded_size(doc: dict, limit: int) -> int:
    """Size as JSON with ASCII escapes (the largest form any adapter sends); measured exactly only when the
    fast UTF-8 size cannot rule it out (escaping at most triples a non-ASCII character's bytes)."""
    try:
        size = len(orjson.dumps(doc))
        if size * 3 < limit:
            return size
    except TypeError:  # lone surrogates: orjson refuses them
        pass
    return len(json.dumps(doc, ensure_ascii=True, separators=(",", ":")))


def spill(docs: list[dict], max_bytes: int) -> list[dict]:
    """Documents must stay under the Cosmos 2 MB item cap: an oversized document's payload moves into `chunk`
    documents (its own id + `.chunkNNNN`), which export joins back. Nothing is dropped."""
    piece = max_bytes // 3  # JSON-in-JSON escaping can double a piece; leave room for the envelope
    out: list[dict] = []
    for d in docs:
        out.append(d)
        if _encoded_size(d, max_bytes) + 1024 < max_bytes:
            continue
        payload = {f: d.pop(f) for f in _PAYLOAD_FIELDS if f in d}
        text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
        pieces = [text[i:i + piece] for i in range(0, len(text), piece)]
        d["chunks"] = len(pieces)
        for n, chunk in enumerate(pieces):
            out.append({"id": f"{d['id']}.chunk{n:04d}", "type": "chunk", "tenantId": d["tenantId"],
                        "userId": d["userId"], "migrationId": d["migrationId"], "browserId": d.get("browserId"),
                        "schemaVersion": SCHEMA_VERSION, "sourceKey": d.get("sourceKey"), "parentId": d["id"],
                        "seq": n, "text": chunk})
    return out
