"""The chat-session builder: one `chat_session` document and one `chat_message` per message. Pure.

The hot loop of a plan (a heavy browser holds tens of thousands of messages): each message's document is a copy
of one envelope template, its backup form is rebuilt only when some secret changed the key, and a message whose
session cannot hold a high-confidence credential is not scanned at all.
"""
from __future__ import annotations

from typing import Any

from migration.domain import models
from migration.domain.families import Classification
from migration.domain.key_builder import MAX_TYPED_CHARS, KeyBuilder, plain_id, within_share
from migration.domain.secret_fields import PLACEHOLDER_PREFIX, Patterns, all_flat_and_plain, flat_and_plain
from migration.domain.value_parsing import Quarantine, parse_scanned


def chat_session(b: KeyBuilder, c: Classification) -> str:
    # The parse also refuses a credential in any object key (quarantined `secret_in_key`), whatever the scan
    # below decides: keys are never scanned per message. `may_hold` is its conservative pre-check of the text.
    parsed, may_hold = parse_scanned(b.text)
    messages: list | None
    if isinstance(parsed, list):
        shape, messages, session_data = "array", parsed, None
    elif isinstance(parsed, dict):
        shape = "object"
        messages = parsed.get("messages") if isinstance(parsed.get("messages"), list) else None
        session_data = parsed if messages is None else {k: v for k, v in parsed.items() if k != "messages"}
    else:
        raise Quarantine("unexpected_shape")
    has_messages_field = shape == "object" and messages is not None  # `{"messages": []}` keeps its field
    messages = messages or []
    within_share(b, len(messages))
    # One look at the whole session (`may_hold`, from the parse): most hold no credential-like text at all, and
    # then no message needs its own high-confidence scan (field names are still checked per message).
    scan: Patterns = "high_confidence" if may_hold else "none"
    # Then a message whose fields are all scalars under plain names has nothing to extract; checked for the
    # whole session at once when every message is such.
    all_plain = scan == "none" and all_flat_and_plain(messages)
    data, refs = (b.extract(session_data, base=("session",), by_pattern=True) if session_data is not None
                  else (None, None))
    session = b.doc("chat_session", f"chat_session.{b.kh}", sessionId=c.session_id,
                    scope="tenant_global" if c.is_global else "user", shape=shape,
                    messagesField="messages" if has_messages_field else None,
                    messageCount=len(messages), data=data)
    if refs:
        session["secretRefs"] = refs
    # What each message was rebuilt from: (stored value, content field or None, stored content).
    kept: list[tuple[Any, str | None, Any]] = []
    agent_id, first, last = None, None, None
    template, id_prefix, session_id = b.template("chat_message"), f"chat_message.{b.kh}.", c.session_id
    scanning, add_doc, keep = scan != "none", b.docs.append, kept.append
    for i, msg in enumerate(messages):
        doc = template.copy()
        doc["id"] = f"{id_prefix}{i:06d}"
        doc["sessionId"] = session_id
        doc["sequence_number"] = i + 1
        add_doc(doc)
        if not isinstance(msg, dict):  # a bare string or list is chat data too: same high-confidence check
            data_i, mrefs = b.extract(msg, base=(i,), by_pattern=scan)
            doc.update(itemKind="raw", data=data_i)
            if mrefs:
                doc["secretRefs"] = mrefs
            keep((data_i, None, None))
            continue
        content_field: str | None = "content"
        content: Any = msg.get("content")
        if not isinstance(content, str):
            content = msg.get("message")
            content_field = "message" if isinstance(content, str) else None
        rest = msg  # the parse's own dict, used nowhere else: the content leaves it in place (no copy)
        if content_field:
            del rest[content_field]
            if scanning:
                content = b.extract_text(content, base=(i, content_field), doc=doc)
            doc["content"] = content
            doc["contentField"] = content_field
        else:
            content = None
        mrefs = None
        if not (all_plain or (not scanning and flat_and_plain(rest))):
            rest, mrefs = b.extract(rest, base=(i,), by_pattern=scan)
        # Copies into typed fields come from the stored message (secrets swapped), never from the raw one.
        created = models.normalize_timestamp(rest.get("timestamp", rest.get("createdAt")))
        role = rest.get("role")
        doc["role"] = (role if isinstance(role, str) and len(role) <= MAX_TYPED_CHARS
                       and not role.startswith(PLACEHOLDER_PREFIX) else None)
        doc["created_at"] = created
        doc["data"] = rest
        if mrefs:
            doc["secretRefs"] = mrefs
        if agent_id is None and isinstance(rest.get("agentId"), (str, int)):
            agent_id = plain_id(rest["agentId"])
        if created:
            first = first or created
            last = created
        keep((rest, content_field, content))
    session.update(agentId=agent_id, firstMessageAt=first, lastMessageAt=last)
    b.plan.summary["chat_sessions"] += 1
    b.plan.summary["chat_messages"] += len(messages)

    def rebuilt() -> Any:  # only when a secret changed the key: the common session is backed up as received
        rebuilt_messages = [{**value, field: content} if field else value for value, field, content in kept]
        if shape == "array":
            return rebuilt_messages
        out = dict(data) if data is not None else {}
        if session["messagesField"]:
            out["messages"] = rebuilt_messages
        return out
    b.plan.backup_values[b.key] = b.backup_value(rebuilt)
    return shape
