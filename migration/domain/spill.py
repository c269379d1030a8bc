"""Documents kept under the Cosmos DB item cap: an oversized document's payload moves into `chunk` documents.
Pure."""
from __future__ import annotations

import json

import orjson

from migration.domain.plan_model import SCHEMA_VERSION, PlanTooLarge

_PAYLOAD_FIELDS = ("data", "content", "raw", "value", "keys", "secretRefs")
_ENVELOPE_ROOM = 1024  # what a spilled document's envelope and `chunks` field may add
# JSON with ASCII escapes (the largest form any adapter sends) is at most this many times the UTF-8 JSON orjson
# writes: a character orjson keeps as one byte can become six (`\u007f`: json escapes DEL, orjson does not), a
# two- to four-byte character becomes six or twelve (`\ud83d\ude00`), and an escape orjson writes (`\n`,
# `\u001f`) at most triples. Floats print at most two bytes longer (`1e16` vs `1e+16`) and are at least one.
ASCII_EXPANSION = 6


def encoded_size(doc: dict, limit: int) -> int:
    """Size as JSON with ASCII escapes; measured exactly only when the fast UTF-8 size cannot rule it out."""
    try:
        size = len(orjson.dumps(doc))
        if size * ASCII_EXPANSION < limit:
            return size
    except TypeError:  # lone surrogates or integers past 64 bits: orjson refuses them
        pass
    return len(json.dumps(doc, ensure_ascii=True, separators=(",", ":")))


def all_fit(docs: list[dict], max_bytes: int) -> bool:
    """True only when no document of `docs` needs spilling: one serialisation of the whole list bounds every
    document's size (a key's documents are usually far under the cap), instead of one per document."""
    try:
        return len(orjson.dumps(docs)) * ASCII_EXPANSION + _ENVELOPE_ROOM < max_bytes
    except TypeError:
        return False


def spill(docs: list[dict], max_bytes: int) -> list[dict]:
    """Documents must stay under the Cosmos 2 MB item cap: an oversized document's payload moves into `chunk`
    documents (its own id + `.chunkNNNN`), which export joins back. Nothing is dropped.

    Raises PlanTooLarge (DOCUMENT_TOO_LARGE, naming the key) when a document is over `max_bytes` even so: its
    fields outside the payload are bounded (keys, typed copies), so only a very small cap can get there."""
    if all_fit(docs, max_bytes):  # then every document fits: the common case needs no check per document
        return list(docs)
    out: list[dict] = []
    for d in docs:
        out.append(d)
        if encoded_size(d, max_bytes) + _ENVELOPE_ROOM < max_bytes:
            continue
        payload = {f: d.pop(f) for f in _PAYLOAD_FIELDS if f in d}
        text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
        head = {"id": f"{d['id']}.chunk0000", "type": "chunk", "tenantId": d["tenantId"], "userId": d["userId"],
                "migrationId": d["migrationId"], "browserId": d.get("browserId"), "schemaVersion": SCHEMA_VERSION,
                "sourceKey": d.get("sourceKey"), "parentId": d["id"], "seq": 0, "text": ""}
        # The text is ASCII, so in its chunk each character takes at most two bytes (`"` -> `\"`); the envelope
        # (with its key) takes the rest, and `seq` may grow by a few digits.
        piece = min(max_bytes // 3, (max_bytes - encoded_size(head, max_bytes) - 16) // 2)
        if piece < 1:
            raise _too_large(d, max_bytes)
        pieces = [text[i:i + piece] for i in range(0, len(text), piece)]
        d["chunks"] = len(pieces)
        if encoded_size(d, max_bytes) > max_bytes:
            raise _too_large(d, max_bytes)
        for n, chunk in enumerate(pieces):
            out.append({**head, "id": f"{d['id']}.chunk{n:04d}", "seq": n, "text": chunk})
    return out


def _too_large(doc: dict, max_bytes: int) -> PlanTooLarge:
    return PlanTooLarge("DOCUMENT_TOO_LARGE", max_bytes, "bytes in one document",
                        key=doc.get("sourceKey") or doc.get("conflictKey"))
