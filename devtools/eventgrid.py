"""The Event Grid schema of Blob Storage events, as the blob extension's webhook receives them (pure, no I/O).

Only the fields the blob extension reads are checked: `eventType`, `subject`
(`/blobServices/default/containers/<container>/blobs/<name>`) and, for the handshake, `data.validationCode`.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
_SUBJECT = "/blobServices/default/containers/"


class BadEvent(ValueError):
    """The body is not an Event Grid event array. The message is fixed text, never the body."""


def parse_events(body: bytes) -> list[dict[str, Any]]:
    try:
        events = json.loads(body)
    except ValueError:
        raise BadEvent("The body is not JSON") from None
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, dict) and isinstance(e.get("eventType"), str)
                                               for e in events):
        raise BadEvent("Expected an array of Event Grid events, each with an eventType")
    return events


def validation_code(events: list[dict[str, Any]]) -> str | None:
    for e in events:
        data = e.get("data")
        code = data.get("validationCode") if e["eventType"] == VALIDATION and isinstance(data, dict) else None
        if isinstance(code, str) and code:
            return code
    return None


def blob_of(subject: Any) -> tuple[str, str] | None:
    """(container, blob name) from a BlobCreated subject, or None."""
    if not isinstance(subject, str) or not subject.startswith(_SUBJECT) or "/blobs/" not in subject:
        return None
    container, _, name = subject[len(_SUBJECT):].partition("/blobs/")
    return (container, name) if container and name else None


def created_blobs(events: list[dict[str, Any]], container: str) -> list[str]:
    """Names of the blobs created in `container`, in event order, each once."""
    names: list[str] = []
    for e in events:
        found = blob_of(e.get("subject")) if e["eventType"] == BLOB_CREATED else None
        if found and found[0] == container and found[1] not in names:
            names.append(found[1])
    return names


def blob_created(account_url: str, container: str, name: str, *, size: int, etag: str = "",
                 content_type: str = "application/octet-stream") -> dict[str, Any]:
    """A BlobCreated event as Event Grid delivers it (EventGridSchema)."""
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/local",
        "subject": f"{_SUBJECT}{container}/blobs/{name}",
        "eventType": BLOB_CREATED,
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "dataVersion": "", "metadataVersion": "1",
        "data": {"api": "PutBlob", "requestId": str(uuid.uuid4()), "eTag": etag, "contentType": content_type,
                 "contentLength": size, "blobType": "BlockBlob",
                 "url": f"{account_url.rstrip('/')}/{container}/{quote(name)}", "sequencer": "0"},
    }


def validation_event(code: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "topic": "", "subject": "", "eventType": VALIDATION,
            "eventTime": datetime.now(timezone.utc).isoformat(), "dataVersion": "1", "metadataVersion": "1",
            "data": {"validationCode": code, "validationUrl": ""}}
