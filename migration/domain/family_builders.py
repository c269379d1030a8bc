"""The family builders: each adds its key's documents and returns the value's shape, or raises Quarantine; and
the quarantine and conflict-copy documents of a key that cannot be migrated as its family. Pure."""
from __future__ import annotations

from typing import Any

from migration.domain import models
from migration.domain.families import Classification, Family
from migration.domain.key_builder import MAX_TYPED_IDS, KeyBuilder, plain, plain_id, within_share
from migration.domain.plan_model import Plan, envelope, merged_preferences_id
from migration.domain.value_parsing import (
    MAX_VALUE_DEPTH,
    SECRET_IN_KEY,
    Quarantine,
    key_holds_credential,
    parse_json,
    parse_structured,
)
from shared.json_depth import deeper_than

# Seed's merged-preferences categories, by the key's name (`ui_preferences_<t>` -> `ui_preferences`).
_MERGED_CATEGORIES = (("ui_preferences", "ui_preferences"), ("notification", "notification_preferences"),
                      ("privacy", "privacy_settings"))

COLLECTIONS = {
    Family.AGENTS: ("agent", "agents", models.Agent, frozenset()),
    Family.LLM_CONFIGS: ("llm_config", "llm_configs", models.LlmConfig, frozenset({"endpoint"})),
    Family.MCP_SERVERS: ("mcp_server", "mcp_servers", models.McpServer, frozenset()),
}


def _typed_fields(doc_type: str, model: type, item: Any, data: Any, refs: list[dict] | None) -> dict:
    if models.typed(model, item) is None:
        return {"valid": False}
    # Read from the stored copy (secrets already swapped for placeholders), never from the raw item.
    m: Any = (models.typed(model, data) if refs else None) or models.typed(model, item if not refs else {})
    out: dict[str, Any] = {"itemId": plain_id(m.id), "name": plain(m.name)}
    if doc_type == "agent":
        out["llmConfigId"] = plain_id(m.llmConfigId)
        ids = m.mcpServerIds or []
        out["mcpServerIds"] = ([t for t in map(plain_id, ids) if t is not None] if len(ids) <= MAX_TYPED_IDS
                               else None)
    elif doc_type == "llm_config":
        out.update(provider=plain(m.provider), model=plain(m.model))
        for ref in refs or []:  # the seed's reference fields
            if ref["path"] == ["apiKey"]:
                out["api_key_vault_secret"] = ref["name"]
            elif ref["path"] == ["endpoint"]:
                out["endpoint_vault_secret"] = ref["name"]
    else:
        out.update(transport=plain(m.transport), enabled=m.enabled)
    return out


def collection(b: KeyBuilder, family: Family) -> str:
    doc_type, summary_name, model, extra_fields = COLLECTIONS[family]
    parsed = parse_structured(b.text)
    if isinstance(parsed, list):
        shape, items = "array", [(None, item) for item in parsed]
    elif isinstance(parsed, dict) and all(isinstance(v, dict) for v in parsed.values()):
        shape, items = "object", list(parsed.items())
    else:
        raise Quarantine("unexpected_shape")
    within_share(b, len(items))
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


def preferences(b: KeyBuilder, c: Classification) -> str:
    ok, parsed = parse_json(b.text)
    if ok and isinstance(parsed, (dict, list)) and deeper_than(parsed, MAX_VALUE_DEPTH):
        raise Quarantine("too_deep")
    if ok and isinstance(parsed, (dict, list)) and key_holds_credential(parsed, b.text):
        raise Quarantine(SECRET_IN_KEY)
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


def quarantine(b: KeyBuilder, reason: str, family: Family | None, doc_type: str = "quarantine") -> None:
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
    if ok and isinstance(parsed, (dict, list)) and key_holds_credential(parsed, b.text):
        ok, sensitive = False, True  # keys are stored as they are: the whole text goes to the vault
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
    b = KeyBuilder(p, f"{key}\x00conflict\x00{copy_id}", text)
    quarantine(b, "conflict", family, doc_type="conflict")
    b.docs[0].update(sourceKey=None, conflictKey=key, **fields)
    for s in b.slots:
        p.secrets.update(s.vault_entries())
    return b.docs, p.backup_values.pop(b.key)


def merged_preferences(plan: Plan, prefs: list[dict]) -> dict | None:
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
