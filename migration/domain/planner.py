"""The migration plan: every received key accounted for exactly once, and the documents to write. Pure.

plan() never raises on user data. A key is `migrated` (documents written), `quarantined` (kept raw in a
quarantine document with a reason) or `ignored` (with a reason; it stays in the browser). The parts: reading
values (value_parsing), the plan's shapes and ids (plan_model), one key's documents (key_builder), the family
builders (family_builders, chat_sessions) and the item-size cap (spill).
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Iterable

from migration.domain.chat_sessions import chat_session
from migration.domain.families import Disposition, Family, classify
from migration.domain.family_builders import (
    COLLECTIONS,
    MAX_QUARANTINE_SECRETS,
    collection,
    conflict_documents,
    merged_preferences,
    preferences,
    quarantine,
)
from migration.domain.key_builder import KeyBuilder
from migration.domain.plan_model import (
    DATA_TYPES,
    DEFAULT_BROWSER,
    LISTED_WARNINGS,
    SCHEMA_VERSION,
    KeyOutcome,
    Limits,
    Plan,
    PlanTooLarge,
    envelope,
    key_hash,
    manifest_id,
    merged_preferences_id,
    sha256_text,
    user_tag,
)
from migration.domain.spill import spill
from migration.domain.value_parsing import (
    MAX_VALUE_DEPTH,
    Quarantine,
    dumps_value,
    has_duplicate_keys,
    parse_json,
    parse_structured,
)

__all__ = [  # what the rest of the app imports from here: the planner's one public face
    "DATA_TYPES", "DEFAULT_BROWSER", "LISTED_WARNINGS", "MAX_QUARANTINE_SECRETS", "MAX_VALUE_DEPTH",
    "SCHEMA_VERSION", "Disposition", "KeyOutcome", "Limits", "Plan", "PlanTooLarge", "conflict_documents",
    "dumps_value", "envelope", "has_duplicate_keys", "key_hash", "manifest_id", "merged_preferences_id",
    "migration_id_for", "parse_json", "parse_structured", "payload_digest", "plan", "sha256_text", "spill",
    "user_tag",
]


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
    groups: list[list[dict]] = []  # each key's documents, spilled at the end one key at a time
    for key, text in local_storage.items():
        c = classify(key, tenant, foreign_browser=foreign)
        outcome = KeyOutcome(key, None, Disposition.IGNORED)  # no hash of what is not kept (auth_token...)
        if c.family is None:
            outcome.reason = c.ignore.value if c.ignore else None
            p.keys.append(outcome)
            continue
        b = KeyBuilder(p, key, text)
        warnings_before = (len(p.warnings), p.warning_count)
        outcome.family = c.family.value
        try:
            if c.family is Family.UNKNOWN:
                raise Quarantine("unknown_key")
            if c.family in COLLECTIONS:
                outcome.shape = collection(b, c.family)
            elif c.family is Family.CHAT_SESSION:
                outcome.shape = chat_session(b, c)
            else:
                outcome.shape = preferences(b, c)
                prefs.append(b.docs[0])
            outcome.disposition = Disposition.MIGRATED
        except Exception as q:  # noqa: BLE001 - one unreadable key is quarantined, never fails the request
            reason = q.reason if isinstance(q, Quarantine) else ("too_deep" if isinstance(q, RecursionError)
                                                                 else "unreadable")
            del p.warnings[warnings_before[0]:]
            p.warning_count = warnings_before[1]
            quarantine(b, reason, c.family if c.family is not Family.UNKNOWN else None)
            outcome.disposition, outcome.reason, outcome.shape = Disposition.QUARANTINED, reason, None
        # The hash of what is kept (secrets swapped for their vault references), never of a raw secret.
        kept = p.backup_values[key]
        outcome.sha256 = per_key[key] if kept is text else sha256_text(kept)  # most keys are kept as received
        p.documents.extend(b.docs)
        groups.append(b.docs)
        for s in b.slots:
            p.secrets.update(s.vault_entries())
        p.keys.append(outcome)
        p.check_totals()  # as it grows: a hostile body stops early instead of filling memory first
    merged = merged_preferences(p, prefs)  # from the values before any spill moved them into chunks
    if merged:
        groups.append([merged])
    # Key by key: one serialisation bounds all of a key's documents, where the whole plan would be over the cap.
    p.documents = [d for docs in groups for d in spill(docs, max_document_bytes)]
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
