"""What a plan is: its limits, its per-key outcomes, its documents and secrets, and the ids they share. Pure."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from migration.domain.families import Disposition

SCHEMA_VERSION = 1
DEFAULT_BROWSER = "default"  # requests without a browser id (the seed's frontend) count as one browser
DATA_TYPES = ("agent", "llm_config", "mcp_server", "chat_session", "chat_message", "preferences",
              "quarantine", "chunk", "manifest", "conflict")

# The response lists this many warnings (the first ones) and counts them all: one per bad item would let a
# 400 KB body of junk items make an 11 MB response.
LISTED_WARNINGS = 20


@dataclass(frozen=True)
class Limits:
    """What one plan may cost (README "Bounds"). A key over its share is kept whole; a plan over a total is
    refused before anything is written."""
    max_documents: int = 100_000
    max_items_per_key: int = 20_000
    max_secrets: int = 2_000
    max_keys: int = 10_000


class PlanTooLarge(Exception):
    """The payload would cost more than a limit allows; nothing is written. Carries no user data but, for one
    document over the item cap, the key it comes from (the caller's own, in `key`, never in the message)."""

    def __init__(self, code: str, limit: int, what: str, key: str | None = None):
        super().__init__(what)
        self.code, self.limit, self.what, self.key = code, limit, what, key


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def user_tag(user: str) -> str:
    """Ids carry the user: real Cosmos scopes ids by the full partition key, but the local stand-in only by
    its first component (the tenant), and ids unique per tenant are harmless on real Cosmos."""
    return sha256_text(user)[:10]


def key_hash(user: str, key: str) -> str:
    return sha256_text(user_tag(user) + "\x00" + key)[:16]


def manifest_id(user: str) -> str:
    return f"manifest.{user_tag(user)}"


def merged_preferences_id(user: str) -> str:
    return f"preferences.merged.{user_tag(user)}"


@dataclass
class KeyOutcome:
    key: str
    sha256: str | None  # of the value as kept (secrets swapped); None for ignored keys
    disposition: Disposition
    reason: str | None = None
    family: str | None = None
    documents: int = 0
    shape: str | None = None

    def manifest_entry(self) -> dict:
        entry = {"key": self.key, "disposition": self.disposition.value, "documents": self.documents}
        for name in ("sha256", "reason", "family", "shape"):
            if getattr(self, name) is not None:
                entry[name] = getattr(self, name)
        return entry


@dataclass
class Plan:
    tenant: str
    user: str
    migration_id: str
    payload_sha256: str
    browser_id: str = DEFAULT_BROWSER
    documents: list[dict] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)            # vault name -> value
    keys: list[KeyOutcome] = field(default_factory=list)
    backup_values: dict[str, str] = field(default_factory=dict)      # what the backup holds, secrets swapped
    warnings: list[str] = field(default_factory=list)   # the first LISTED_WARNINGS
    warning_count: int = 0
    limits: Limits = field(default_factory=Limits)
    summary: dict[str, int] = field(default_factory=lambda: {
        "agents": 0, "llm_configs": 0, "mcp_servers": 0, "chat_sessions": 0, "chat_messages": 0,
        "preferences": 0})

    def count(self, disposition: Disposition) -> int:
        return sum(1 for k in self.keys if k.disposition is disposition)

    @property
    def counts(self) -> dict[str, int]:
        return {"received": len(self.keys), "migrated": self.count(Disposition.MIGRATED),
                "quarantined": self.count(Disposition.QUARANTINED), "ignored": self.count(Disposition.IGNORED)}

    def listed(self, disposition: Disposition) -> list[dict]:
        return [{"key": k.key, "reason": k.reason} for k in self.keys if k.disposition is disposition]

    @property
    def migrated_records(self) -> int:
        return sum(self.summary.values())

    def warn(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < LISTED_WARNINGS:
            self.warnings.append(message)

    def check_totals(self) -> None:
        if len(self.documents) > self.limits.max_documents:
            raise PlanTooLarge("TOO_MANY_DOCUMENTS", self.limits.max_documents, "documents")
        if len(self.secrets) > self.limits.max_secrets:
            raise PlanTooLarge("TOO_MANY_SECRETS", self.limits.max_secrets, "secret values")


def envelope(plan: "Plan", doc_type: str, doc_id: str, **fields: Any) -> dict:
    """The one document envelope: type, ownership (tenant, user, the migration and browser that wrote it) and
    `schemaVersion`. Every document the planner makes starts here."""
    d = {"id": doc_id, "type": doc_type, "tenantId": plan.tenant, "userId": plan.user,
         "migrationId": plan.migration_id, "browserId": plan.browser_id, "schemaVersion": SCHEMA_VERSION}
    d.update(fields)
    return d
