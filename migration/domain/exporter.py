"""Rebuilding a user's localStorage from the stored documents (the rollback package). Pure.

Raw values come back as the very same string; JSON values come back as JSON that parses deep-equal to the
original (array order kept, unknown fields kept, secrets put back from the vault).
"""
from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any, Iterable

from migration.domain.planner import dumps_value
from migration.domain.secret_fields import ref_names, restore, restore_text

_COLLECTION_TYPES = ("agent", "llm_config", "mcp_server")


def secret_names(docs: Iterable[dict]) -> set[str]:
    """Every vault name the documents reference, those in spilled payloads (chunks) included. A parent whose
    chunks are not all among `docs` (a sampled read) gives only the names it holds itself."""
    docs = list(docs)
    chunks: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        if d.get("type") == "chunk":
            chunks[d["parentId"]].append(d)
    names: set[str] = set()
    for d in docs:
        if d.get("type") == "chunk":
            continue
        parts = chunks.get(d["id"], [])
        if d.get("chunks") and len(parts) == d["chunks"]:
            d = {**d, **json.loads("".join(p["text"] for p in sorted(parts, key=lambda c: c["seq"])))}
        for ref in (d.get("secretRefs") or []) + (d.get("contentSecretRefs") or []):
            names.update(ref_names(ref))
        names.update(d.get("rawSecretRefs") or ())
    return names


def _unchunk(docs: list[dict]) -> list[dict]:
    chunks: dict[str, list[dict]] = defaultdict(list)
    rest = []
    for d in docs:
        (chunks[d["parentId"]].append(d) if d["type"] == "chunk" else rest.append(d))
    for d in rest:
        if d.get("chunks"):
            parts = sorted(chunks[d["id"]], key=lambda c: c["seq"])
            if len(parts) != d["chunks"]:
                raise ValueError(f"document {d['id']} is missing chunks")
            d.update(json.loads("".join(p["text"] for p in parts)))
    return rest


def _payload(d: dict, field: str, secrets: dict[str, str]) -> Any:
    value = d.get(field)
    refs = d.get("secretRefs")
    if refs:  # values are at most MAX_VALUE_DEPTH deep (the planner quarantines deeper ones)
        value = restore(copy.deepcopy(value), refs, secrets)
    return value


def _raw(d: dict, secrets: dict[str, str]) -> str:
    if d.get("rawSecretRefs"):
        return "".join(secrets[n] for n in d["rawSecretRefs"])
    return d["raw"]


def _collection(docs: list[dict], shape: str | None, secrets: dict[str, str]) -> str:
    docs = sorted(docs, key=lambda d: d["position"])
    if shape == "object":
        return dumps_value({d["slot"]: _payload(d, "data", secrets) for d in docs})
    return dumps_value([_payload(d, "data", secrets) for d in docs])


def _chat(docs: list[dict], secrets: dict[str, str]) -> str:
    session = next(d for d in docs if d["type"] == "chat_session")
    messages = []
    for m in sorted((d for d in docs if d["type"] == "chat_message"), key=lambda d: d["sequence_number"]):
        item = _payload(m, "data", secrets)
        if m.get("contentField"):
            item = {**item, m["contentField"]: restore_text(m["content"], m.get("contentSecretRefs"), secrets)}
        messages.append(item)
    if session["shape"] == "array":
        return dumps_value(messages)
    out = dict(_payload(session, "data", secrets) or {})
    if session.get("messagesField"):
        out[session["messagesField"]] = messages
    return dumps_value(out)


def rebuild(docs: Iterable[dict], secrets: dict[str, str]) -> dict[str, str]:
    """localStorage {key: value} for every key that was migrated or quarantined, in manifest order."""
    whole = [d for d in _unchunk(list(docs)) if d["type"] != "conflict"]
    manifest: list[dict] = next((d["keys"] for d in whole if d["type"] == "manifest"), [])
    by_key: dict[str, list[dict]] = defaultdict(list)
    for d in whole:
        if d.get("sourceKey") is not None:
            by_key[d["sourceKey"]].append(d)
    out: dict[str, str] = {}
    for entry in manifest:
        key = entry["key"]
        if entry["disposition"] == "ignored":
            continue
        group = by_key.pop(key, [])
        out[key] = _value(entry, group, secrets)
    for key, group in by_key.items():  # documents whose key the manifest does not list (written later)
        out[key] = _value({"key": key}, group, secrets)
    return out


def _value(entry: dict, group: list[dict], secrets: dict[str, str]) -> str:
    types = {d["type"] for d in group}
    if "quarantine" in types:
        d = next(d for d in group if d["type"] == "quarantine")
        return dumps_value(_payload(d, "value", secrets)) if "value" in d else _raw(d, secrets)
    if "preferences" in types:
        d = group[0]
        return dumps_value(_payload(d, "value", secrets)) if "value" in d else _raw(d, secrets)
    if "chat_session" in types:
        return _chat(group, secrets)
    if types & set(_COLLECTION_TYPES) or entry.get("family") in ("agents", "llm_configs", "mcp_servers"):
        return _collection(group, entry.get("shape"), secrets)
    raise ValueError(f"no documents to rebuild key #{entry.get('key')!r}")


def conflict_copies(docs: Iterable[dict], secrets: dict[str, str]) -> list[dict]:
    """Every conflict copy: {key, value (a rollback_data value's form), browser_id, migration_id} plus what
    the merge needs (item, holders, against). Sorted by key, then id."""
    out = []
    for d in sorted((d for d in _unchunk(list(docs)) if d["type"] == "conflict"),
                    key=lambda d: (d["conflictKey"], d["id"])):
        value = dumps_value(_payload(d, "value", secrets)) if "value" in d else _raw(d, secrets)
        origin = d.get("origin") or {}
        out.append({"key": d["conflictKey"], "value": value, "browser_id": origin.get("browser_id", "default"),
                    "migration_id": origin.get("migration_id", d["migrationId"]), "item": d.get("item", ""),
                    "holders": list(d.get("holders") or [origin.get("browser_id", "default")]), "id": d["id"]})
    return out
