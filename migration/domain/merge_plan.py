"""Between stored documents and the merge's registers: the stored state read back, and the merged state
planned into documents (live ones through the planner, conflict copies as their own documents). Pure.

Ownership lives on the documents: `browserId`/`migrationId` name the request that last wrote a document,
`holders` the browsers whose latest payload holds that version, `origin` the browser and migration that first
stored it. A document without them (written by a first migration) is held by its writer.
"""
from __future__ import annotations

from migration.domain import exporter, merge_items, planner
from migration.domain.families import Family, classify
from migration.domain.planner import DEFAULT_BROWSER, Plan, sha256_text

_ITEM_TYPES = ("agent", "llm_config", "mcp_server")
_WHOLE_TYPES = ("chat_session", "preferences", "quarantine")
# What a document compares on: its envelope's writer fields change with every request and are not data.
_WRITER_FIELDS = ("migrationId", "browserId")


def holders_of(doc: dict) -> set[str]:
    return set(doc.get("holders") or [doc.get("browserId") or DEFAULT_BROWSER])


def origin_of(doc: dict) -> merge_items.Origin:
    o = doc.get("origin") or {}
    return (o.get("browser_id", doc.get("browserId") or DEFAULT_BROWSER),
            o.get("migration_id", doc.get("migrationId") or ""))


def family_of(key: str, tenant: str) -> str:
    fam = classify(key, tenant, foreign_browser=False).family  # stored keys were accepted for this tenant
    return merge_items.FAMILY_OF.get(fam, "unknown") if fam else "unknown"


def load(tenant: str, docs: list[dict], secrets: dict[str, str]) -> dict[str, merge_items.KeyState]:
    """The stored registers of one user: each key's live value (as export rebuilds it) with its items'
    holders, plus its conflict copies."""
    live = exporter.rebuild(docs, secrets)
    meta: dict[str, list[tuple[str | None, set[str], merge_items.Origin]]] = {}
    for d in sorted((d for d in docs if d.get("sourceKey") is not None and
                     (d["type"] in _ITEM_TYPES or d["type"] in _WHOLE_TYPES and d.get("view") is None)),
                    key=lambda d: d.get("position", 0)):
        meta.setdefault(d["sourceKey"], []).append((d.get("mergeKey"), holders_of(d), origin_of(d)))
    copies: dict[str, list[tuple[str, str, set[str], merge_items.Origin]]] = {}
    for c in exporter.conflict_copies(docs, secrets):
        copies.setdefault(c["key"], []).append((c["item"], c["value"], set(c["holders"]),
                                                (c["browser_id"], c["migration_id"])))
    state = {}
    for key, text in live.items():
        state[key] = merge_items.load_key(key, family_of(key, tenant), text, meta.get(key, []),
                                    copies.pop(key, []))
    for key, group in copies.items():  # copies of a key with no live documents left (not expected): kept
        first = group[0]
        state[key] = merge_items.load_key(key, "unknown", first[1], [(None, first[2], first[3])], group[1:])
    return state


def _family_enum(family: str) -> Family | None:
    return {"agents": Family.AGENTS, "llm_configs": Family.LLM_CONFIGS, "mcp_servers": Family.MCP_SERVERS,
            "chat_sessions": Family.CHAT_SESSION, "preferences": Family.PREFERENCES}.get(family)


def _ownership(version: merge_items.Version) -> dict:
    return {"holders": sorted(version.holders),
            "origin": {"browser_id": version.origin[0], "migration_id": version.origin[1]}}


def plan_state(tenant: str, user: str, state: dict[str, merge_items.KeyState], *, browser_id: str, migration_id: str,
               max_document_bytes: int, limits: planner.Limits) -> tuple[Plan, list[dict]]:
    """Every document of the merged state (raises PlanTooLarge like a migration) and the conflict copies as
    the backup holds them ({key, value with placeholders, browser_id, migration_id})."""
    live = {key: ks.live_text() for key, ks in state.items()}
    p = planner.plan(tenant, user, live, max_document_bytes=max_document_bytes, limits=limits,
                     browser_id=browser_id, migration_id=migration_id, foreign_browser=False)
    items = {key: list(ks.items.items()) for key, ks in state.items()}
    # An id-less item's ident is its position when first stored; recorded only where it differs now.
    computed = {key: merge_items.array_idents([it.versions[0].value for _, it in items[key]])
                for key, ks in state.items() if ks.kind == "array"}
    for d in p.documents:
        key = d.get("sourceKey")
        if key is None or key not in items:
            continue
        if d["type"] in _ITEM_TYPES and d.get("position", 0) < len(items[key]):
            ident, item = items[key][d["position"]]
            d.update(_ownership(item.versions[0]))
            if key in computed and computed[key][d["position"]] != ident:
                d["mergeKey"] = ident
        elif d["type"] in _WHOLE_TYPES and d.get("view") is None and items[key]:
            lives = [it.versions[0] for _, it in items[key]]
            joined = merge_items.Version(None, set().union(*(v.holders for v in lives)), lives[0].origin)
            d.update(_ownership(joined))
    backup_copies = []
    for key, ks in state.items():
        for ident, item in ks.items.items():
            for version in item.versions[1:]:
                copy_id = sha256_text("\x00".join([ident, *version.origin]))[:20]
                docs, value = planner.conflict_documents(
                    p, key, copy_id, ks.copy_text(ident, version), _family_enum(ks.family), item=ident,
                    against={"browser_id": item.versions[0].origin[0], "migration_id": item.versions[0].origin[1]},
                    **_ownership(version))
                p.documents.extend(planner.spill(docs, max_document_bytes))
                backup_copies.append({"key": key, "value": value, "browser_id": version.origin[0],
                                      "migration_id": version.origin[1]})
    manifest = next(d for d in p.documents if d["type"] == "manifest")
    manifest["conflictDocuments"] = sum(d.get("sourceKey") is None and (d["type"] == "conflict" or
                                        d.get("parentId", "").startswith("conflict.")) for d in p.documents)
    p.check_totals()
    return p, backup_copies


def comparable(doc: dict) -> dict:
    """A document as the merge compares it: without store fields and writer fields, ownership defaults
    filled in (a first migration's document is held by its writer)."""
    out = {k: v for k, v in doc.items() if not k.startswith("_") and k not in _WRITER_FIELDS}
    if doc.get("sourceKey") is not None and (doc["type"] in _ITEM_TYPES or
                                             doc["type"] in _WHOLE_TYPES and doc.get("view") is None):
        out.setdefault("holders", sorted(holders_of(doc)))
        o = origin_of(doc)
        out.setdefault("origin", {"browser_id": o[0], "migration_id": o[1]})
    return out


def changes(stored: list[dict], planned: list[dict]) -> tuple[list[dict], list[str]]:
    """(documents to write, ids to delete): only what differs. Removal is limited to documents the merged
    state no longer has (superseded versions; a continued session's old documents are overwritten)."""
    old = {d["id"]: comparable(d) for d in stored}
    writes = [d for d in planned if old.get(d["id"]) != comparable(d)]
    # New documents first: a version leaving the live slot lands in its conflict copy before the live document
    # is overwritten, so a merge that stops half-way (non-atomic stores) never loses a version meanwhile.
    writes.sort(key=lambda d: d["id"] in old)
    planned_ids = {d["id"] for d in planned}
    return writes, [i for i in old if i not in planned_ids]


def incoming(own: Plan, data: dict[str, str], tenant: str) -> list[tuple[str, str, str]]:
    """The keys of one browser's payload that would be stored, with their merge family."""
    out = []
    for k in own.keys:
        if k.disposition is planner.Disposition.IGNORED:
            continue
        fam = "unknown" if k.family == "unknown" else merge_items.FAMILY_OF.get(Family(k.family), "unknown")
        out.append((k.key, fam, data[k.key]))
    return out


def copies_for_export(docs: list[dict], secrets: dict[str, str]) -> list[dict]:
    return [{k: c[k] for k in ("key", "value", "browser_id", "migration_id")}
            for c in exporter.conflict_copies(docs, secrets)]
