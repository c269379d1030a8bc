"""What a backup holds about its secrets, and rebuilding its localStorage. Pure.

A backup keeps each value with its secrets swapped for `@keyvault:<name>` placeholders (never a value).
Alongside, `secretRefs` lists per key the references that stand in that key's value (name, parts, json; or
`raw`: the pieces of a raw value), and `secretVersions` the vault version of every name as it was when the
backup was written. Vault names are per location, so a later migration may write a newer version under the
same name; reading the named version gives back exactly what this backup held.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterable

from migration.domain.planner import dumps_value
from migration.domain.secret_fields import PLACEHOLDER_PREFIX, ref_names, ref_value, restore_text


def key_refs(documents: Iterable[dict]) -> dict[str, list[dict]]:
    """Per source key, the vault references its documents hold (chunked payloads joined back, unchanged)."""
    docs = list(documents)
    chunks: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        if d.get("type") == "chunk":
            chunks[d["parentId"]].append(d)
    out: dict[str, list[dict]] = {}
    for d in docs:
        key = d.get("sourceKey")
        if key is None or d.get("type") == "chunk":
            continue
        fields = d
        if d.get("chunks"):
            parts = sorted(chunks[d["id"]], key=lambda c: c["seq"])
            fields = {**d, **json.loads("".join(p["text"] for p in parts))}
        refs = [{k: v for k, v in r.items() if k != "path"} for r in fields.get("secretRefs") or ()]
        # Credentials inside chat text are spliced by position: keep which message and field they stand in.
        refs += [{**r, "text": True} for r in fields.get("contentSecretRefs") or ()]
        if fields.get("rawSecretRefs"):
            refs.append({"raw": list(fields["rawSecretRefs"])})
        if refs:
            out.setdefault(key, []).extend(r for r in refs if r not in out.get(key, ()))
    return out


def secret_names(refs_by_key: dict[str, list[dict]]) -> set[str]:
    names: set[str] = set()
    for refs in refs_by_key.values():
        for ref in refs:
            names.update(ref["raw"] if "raw" in ref else ref_names(ref))
    return names


def rebuild(local_storage: dict[str, str], refs_by_key: dict[str, list[dict]],
            secrets: dict[str, str]) -> dict[str, str]:
    """The localStorage a backup held: each value with its placeholders filled from `secrets`
    (name -> value at the version the backup names)."""
    return {key: _value(text, refs_by_key.get(key) or [], secrets) for key, text in local_storage.items()}


def _value(text: str, refs: list[dict], secrets: dict[str, str]) -> str:
    if not refs:
        return text  # no secret in this key: the backup holds it verbatim
    raw = next((r["raw"] for r in refs if "raw" in r), None)
    if raw is not None:  # a raw value moved to the vault whole, in pieces
        return "".join(secrets[n] for n in raw)
    # Only placeholders this key's own references name are filled, so a user's literal "@keyvault:..."
    # text elsewhere stays as it was.
    filled = {PLACEHOLDER_PREFIX + r["name"]: r for r in refs if not r.get("text")}
    in_text: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in refs:
        if r.get("text"):
            in_text[(r["path"][0], r["path"][1])].append(r)

    def walk(v: Any) -> Any:
        if isinstance(v, str) and v in filled:
            return ref_value(filled[v], secrets)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    value = walk(json.loads(text))
    if in_text:  # a chat session: an array of messages, or an object holding them under `messages`
        messages = value if isinstance(value, list) else value.get("messages")
        for (i, field_name), text_refs in in_text.items():
            messages[i][field_name] = restore_text(messages[i][field_name], text_refs, secrets)
    return dumps_value(value)
