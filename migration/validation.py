"""Validation of one user's completed migration (the seed's ValidationReport checks).

Reads stay flat in the size of the user's chat history: messages and chunks are counted, never read; the
documents read are the configs, sessions, preferences, quarantine and manifest.
"""
from __future__ import annotations

import hashlib
from typing import Any

from shared.composition import Ports

from . import exporter
from .families import IgnoreReason, classify
from .planner import DATA_TYPES
from .secret_fields import PLACEHOLDER_PREFIX, extract, looks_secret

CHECKS = ["document_counts", "tenant_isolation", "references", "plaintext_secrets", "secret_references",
          "backup_integrity"]
_READ_TYPES = [t for t in DATA_TYPES if t not in ("chat_message", "chunk")] + ["backup"]
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
    docs = await ports.documents.list_partition(pk, _READ_TYPES)
    found: list[dict] = []
    found += _counts(record, counts, docs)
    found += _isolation(record, docs)
    found += _references(record, docs)
    found += _plaintext(record, docs)
    found += await _secret_refs(ports, record, docs)
    landed = next((d for d in docs if d["type"] == "backup"), None) if not deep else None
    found += await _backup(ports, record, backup_container, landed)
    return found


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
        expected = sum(e.get("documents", 0) for e in manifest["keys"]) + manifest.get("unkeyedDocuments", 0)
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


def _references(record: dict, docs: list[dict]) -> list[dict]:
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
    out = []
    for d in docs:
        for payload in (d.get("data"), d.get("value")):
            if payload is None:
                continue
            extra = frozenset({"endpoint"}) if d["type"] == "llm_config" else frozenset()
            slots = extract(payload, tenant="", user="", source_key="", extra_fields=extra, by_pattern=True).slots
            plain = [list(s.path) for s in slots if not s.value.startswith(PLACEHOLDER_PREFIX)]
            if plain:
                out.append(issue("PLAINTEXT_SECRET", "a document holds a secret in plain text", record,
                                 document=d["id"], paths=plain[:10]))
        if isinstance(d.get("raw"), str) and looks_secret(d["raw"]):
            out.append(issue("PLAINTEXT_SECRET", "a raw value that looks like a credential is stored in plain text",
                             record, document=d["id"]))
    return out


async def _secret_refs(ports: Ports, record: dict, docs: list[dict]) -> list[dict]:
    names = sorted(exporter.secret_names(docs))
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
