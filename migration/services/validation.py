"""Validation of one user's completed migration (the seed's ValidationReport checks).

Reads stay flat in the size of the user's data: messages and chunks are counted, never read; of the configs,
sessions, preferences and quarantine documents at most READ_PER_TYPE of each type are read (the rest are
counted), so one user with 300,000 agents costs a sweep no more than one with 300. Issues are capped per user
and type (`more` counts the rest), so one user cannot crowd other tenants out of a report.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from migration.domain import exporter
from migration.domain.families import IgnoreReason, classify
from migration.domain.plaintext_scan import plaintext_paths
from migration.domain.planner import DATA_TYPES
from shared.composition import Ports

CHECKS = ["document_counts", "tenant_isolation", "ownership", "references", "plaintext_secrets", "secret_references",
          "backup_integrity"]
_READ_TYPES = [t for t in DATA_TYPES if t not in ("chat_message", "chunk")] + ["backup"]
READ_PER_TYPE = 200          # documents of one type read per user; beyond it, a sample (the first ones)
ISSUES_PER_USER_TYPE = 5     # issues of one type listed per user; `data.more` counts the others
ISSUES_PER_TENANT = 50       # issues listed per tenant in a report (fair_report)
SECRET_NAMES_CHECKED = 200   # vault look-ups per user
_SUMMARY_TYPES = {"agent": "agents", "llm_config": "llm_configs", "mcp_server": "mcp_servers",
                  "chat_session": "chat_sessions", "chat_message": "chat_messages"}


def issue(kind: str, description: str, record: dict, **data: Any) -> dict:
    return {"type": kind, "description": description,
            "data": {"tenantId": record["tenantId"], "userId": record["userId"],
                     "migrationId": record.get("migrationId"), **data}}


async def validate_user(ports: Ports, record: dict, backup_container: str, deep: bool = True) -> list[dict]:
    """`deep`: download and hash the backup. Otherwise its size is read from its properties and its hash is
    the one the blob function recorded when it landed (a download only if that record is missing), so a
    sweep of many new migrations does not read every backup's bytes."""
    tenant, user = record["tenantId"], record["userId"]
    pk = (tenant, user)
    counts = await ports.documents.count(pk, list(DATA_TYPES))
    docs, sampled = await _read_bounded(ports, pk, counts)
    found: list[dict] = []
    found += _counts(record, counts, docs)
    found += _isolation(record, docs)
    found += _ownership(record, docs)
    found += _references(record, docs, sampled)
    found += _plaintext(record, docs)
    found += await _secret_refs(ports, record, docs)
    landed = next((d for d in docs if d["type"] == "backup"), None) if not deep else None
    found += await _backup(ports, record, backup_container, landed)
    return cap_per_user(found)


async def _read_bounded(ports: Ports, pk: tuple[str, str], counts: dict[str, int]) -> tuple[list[dict], set[str]]:
    """Types with at most READ_PER_TYPE documents are read whole (one query); larger ones are sampled."""
    large = [t for t in _READ_TYPES if counts.get(t, 0) > READ_PER_TYPE]
    small = [t for t in _READ_TYPES if t not in large]
    docs = await ports.documents.list_partition(pk, small) if small else []
    for t in large:
        docs += await ports.documents.find(t, tenant_id=pk[0], where={"userId": pk[1]}, limit=READ_PER_TYPE)
    return docs, set(large)


def cap_per_user(found: list[dict]) -> list[dict]:
    """At most ISSUES_PER_USER_TYPE issues of each type; the last one listed counts the others in `data.more`."""
    kept: list[dict] = []
    last: dict[str, dict] = {}
    listed: Counter = Counter()
    for i in found:
        t = i["type"]
        if listed[t] < ISSUES_PER_USER_TYPE:
            listed[t] += 1
            last[t] = i
            kept.append(i)
        else:
            last[t]["data"]["more"] = last[t]["data"].get("more", 0) + 1
    return kept


def issue_weight(i: dict) -> int:
    return 1 + int(i["data"].get("more", 0))


def fair_report(issues: list[dict], limit: int = 500) -> dict:
    """Report fields in which every tenant keeps room: at most ISSUES_PER_TENANT listed per tenant (the tenants
    with fewest issues first, so a noisy one cannot push a quiet one out), plus totals by type and tenant."""
    by_tenant: dict[str, list[dict]] = {}
    for i in issues:
        by_tenant.setdefault(i["data"]["tenantId"], []).append(i)
    listed: list[dict] = []
    for tenant in sorted(by_tenant, key=lambda t: len(by_tenant[t])):
        listed += by_tenant[tenant][:ISSUES_PER_TENANT]
    listed = listed[:limit]
    totals_by_type: Counter = Counter()
    totals_by_tenant: Counter = Counter()
    for i in issues:
        totals_by_type[i["type"]] += issue_weight(i)
        totals_by_tenant[i["data"]["tenantId"]] += issue_weight(i)
    return {"issues_found": listed, "issue_count": sum(totals_by_type.values()),
            "issue_counts": dict(totals_by_type), "issue_counts_by_tenant": dict(totals_by_tenant),
            "issues_listed": len(listed)}


def _counts(record: dict, counts: dict[str, int], docs: list[dict]) -> list[dict]:
    out = []
    total = sum(counts.values())
    if total != record.get("documentCount"):
        out.append(issue("COUNT_MISMATCH", "documents in the partition differ from the migration record", record,
                         expected=record.get("documentCount"), found=total))
    summary = record.get("summary") or {}
    for doc_type, name in _SUMMARY_TYPES.items():
        if counts.get(doc_type, 0) != summary.get(name, 0):
            out.append(issue("COUNT_MISMATCH", f"{doc_type} documents differ from the record's summary", record,
                             doc_type=doc_type, expected=summary.get(name, 0), found=counts.get(doc_type, 0)))
    manifest = next((d for d in docs if d["type"] == "manifest"), None)
    if manifest is None:
        out.append(issue("COUNT_MISMATCH", "the per-key manifest is missing", record))
    elif "keys" in manifest:  # a manifest split into chunks (~10,000 keys) is not read back here
        expected = (sum(e.get("documents", 0) for e in manifest["keys"]) + manifest.get("unkeyedDocuments", 0)
                    + manifest.get("conflictDocuments", 0))
        if expected != total:
            out.append(issue("COUNT_MISMATCH", "documents differ from the per-key manifest", record,
                             expected=expected, found=total))
    return out


def _isolation(record: dict, docs: list[dict]) -> list[dict]:
    tenant, user = record["tenantId"], record["userId"]
    out = []
    for d in docs:
        if d.get("tenantId") != tenant or d.get("userId") != user:
            out.append(issue("TENANT_ISOLATION_VIOLATION", "a document's owner differs from its partition", record,
                             document=d["id"], owner=[d.get("tenantId"), d.get("userId")]))
        elif d.get("sourceKey") and classify(d["sourceKey"], tenant).ignore is IgnoreReason.OTHER_TENANT:
            out.append(issue("TENANT_ISOLATION_VIOLATION", "a document came from another tenant's key", record,
                             document=d["id"], sourceKey=d["sourceKey"]))
    return out


def _ownership(record: dict, docs: list[dict]) -> list[dict]:
    """Merged users: each conflict copy names its key, holders and source; every holder is a browser the
    record knows (a first migration's documents name no holders: their writer holds them)."""
    known = set(record.get("browsers") or ()) | {record.get("browserId") or "default"}
    out = []
    for d in docs:
        if d["type"] == "conflict" and not (d.get("conflictKey") and d.get("holders") and d.get("origin")):
            out.append(issue("OWNERSHIP_MISSING", "a conflict copy does not name its key, holders and source",
                             record, document=d["id"]))
        elif "holders" in d and (not d["holders"] or not {h.split(":", 1)[0] for h in d["holders"]} <= known):
            out.append(issue("OWNERSHIP_MISSING", "a document is held by no browser the record knows", record,
                             document=d["id"]))
    return out


def _references(record: dict, docs: list[dict], sampled: set[str]) -> list[dict]:
    if sampled & {"llm_config", "mcp_server"}:  # a partial set of targets would report false danglings
        return []
    llm = {d.get("itemId") for d in docs if d["type"] == "llm_config"}
    mcp = {d.get("itemId") for d in docs if d["type"] == "mcp_server"}
    out = []
    for agent in (d for d in docs if d["type"] == "agent"):
        missing = ([agent["llmConfigId"]] if agent.get("llmConfigId") and agent["llmConfigId"] not in llm else [])
        missing += [m for m in agent.get("mcpServerIds") or [] if m not in mcp]
        if missing:
            out.append(issue("DANGLING_REFERENCE", "an agent refers to configs this tenant does not have", record,
                             document=agent["id"], missing=missing))
    return out


def _plaintext(record: dict, docs: list[dict]) -> list[dict]:
    """A broader scan than the planner's (plaintext_scan), so it can find what the planner missed; paths only."""
    out = []
    for d in docs:
        if d["type"] in ("manifest", "backup"):
            continue
        paths = plaintext_paths(d)
        if paths:
            out.append(issue("PLAINTEXT_SECRET", "a document may hold a credential in plain text", record,
                             document=d["id"], paths=paths))
    return out


async def _secret_refs(ports: Ports, record: dict, docs: list[dict]) -> list[dict]:
    names = sorted(exporter.secret_names(docs))[:SECRET_NAMES_CHECKED]
    missing = [n for n in names if await ports.secrets.get(n) is None]
    return [issue("SECRET_REFERENCE_MISSING", "secret references that do not resolve in the vault", record,
                  names=missing[:20], count=len(missing))] if missing else []


async def _backup(ports: Ports, record: dict, container: str, landed: dict | None) -> list[dict]:
    backup = record.get("backup")
    if not backup:
        return []
    path = backup["path"].removeprefix(container + "/")
    if landed is not None and landed.get("blob") == path:
        size = await ports.backups.size(path)
        if size is None:
            return [issue("BACKUP_MISSING", "the backup blob is missing", record, path=backup["path"])]
        if size != backup["size"] or landed.get("sha256") != backup["sha256"]:
            return [issue("BACKUP_ALTERED", "the backup blob differs from the manifest", record,
                          path=backup["path"])]
        return []
    data = await ports.backups.read(path)
    if data is None:
        return [issue("BACKUP_MISSING", "the backup blob is missing", record, path=backup["path"])]
    if hashlib.sha256(data).hexdigest() != backup["sha256"]:
        return [issue("BACKUP_ALTERED", "the backup blob's sha256 differs from the manifest", record,
                      path=backup["path"])]
    return []
