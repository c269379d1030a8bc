"""localStorage key families: which key is what, and whose it is. Pure, table-driven.

A key that names a tenant belongs to that tenant; a key that names none belongs to the caller, unless the
browser says it was last used for another tenant (`current_tenant_id`), in which case its scope is ambiguous
and the key is left in the browser (ignored) rather than written into a possibly wrong tenant.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Family(str, enum.Enum):
    AGENTS = "agents"
    LLM_CONFIGS = "llm_configs"
    MCP_SERVERS = "mcp_servers"
    CHAT_SESSION = "chat_session"
    PREFERENCES = "preferences"
    UNKNOWN = "unknown"


class Disposition(str, enum.Enum):
    MIGRATED = "migrated"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"


class IgnoreReason(str, enum.Enum):
    AUTH_TOKEN = "auth_token"            # never stored anywhere
    OTHER_TENANT = "other_tenant"        # stays in the browser for that tenant's own migration
    AMBIGUOUS_SCOPE = "ambiguous_scope"  # names no tenant while the browser was on another tenant
    CLIENT_MARKER = "client_marker"      # the client's own migration/rollback flags
    KEY_TOO_LONG = "key_too_long"        # over MAX_KEY_CHARS: every document of a key repeats it


# A key is copied into each of its documents (`sourceKey`, a session's `sessionId`, every chunk) and nothing in
# the browser limits its length, so a longer one would make documents over the Cosmos item cap however its value
# is split. Real keys are tens of characters.
MAX_KEY_CHARS = 1024


@dataclass(frozen=True)
class TenantScopedRule:
    """`<prefix><tenant>`: the whole suffix must equal the caller's tenant id (ids may hold underscores)."""
    family: Family
    prefix: str


# Collections of configs, one document per item. Order matters only for readability.
TENANT_SCOPED = (
    TenantScopedRule(Family.AGENTS, "ai_agents_"),
    TenantScopedRule(Family.LLM_CONFIGS, "user_llm_configs_"),
    TenantScopedRule(Family.MCP_SERVERS, "tenant_mcp_servers_"),
)
CLIENT_MARKERS = frozenset({
    "migration_completed", "migration_date", "migration_skipped", "migration_id",
    "use_localstorage_fallback", "rollback_active", "migration_browser_id",
})
UNSCOPED_PREFERENCES = frozenset({"theme", "current_tenant_id"})
CHAT_PREFIX = "chat_session_"
GLOBAL_SUFFIX = "_global"
PREFERENCE_MARKERS = ("_preferences_", "_settings_")
_PREF_NAME = re.compile(r".+_(?:preferences|settings)")


@dataclass(frozen=True)
class Classification:
    family: Family | None           # None when ignored
    ignore: IgnoreReason | None = None
    session_id: str | None = None   # chat sessions
    is_global: bool = False         # chat_session_<tenant>_global
    name: str | None = None         # preferences: the key without its tenant suffix


def preference_readings(key: str) -> list[tuple[str, str]]:
    """Every way to read `key` as `<name>_<tenant>` with a preference-like name. One reading: the key is that
    tenant's. Several: its owner cannot be known, so every tenant it could name must leave it alone."""
    return [(key[:i], key[i + 1:]) for i in range(len(key) - 1)
            if key[i] == "_" and _PREF_NAME.fullmatch(key[:i])]


def classify(key: str, tenant: str, *, foreign_browser: bool = False) -> Classification:
    """Family and scope of one key for a caller of `tenant`.

    `foreign_browser`: the payload's `current_tenant_id` names another tenant, so keys that name no tenant
    cannot be attributed safely.
    """
    if len(key) > MAX_KEY_CHARS:
        return Classification(None, IgnoreReason.KEY_TOO_LONG)
    if key == "auth_token":
        return Classification(None, IgnoreReason.AUTH_TOKEN)
    if key in CLIENT_MARKERS:
        return Classification(None, IgnoreReason.CLIENT_MARKER)

    for rule in TENANT_SCOPED:
        if key.startswith(rule.prefix):
            owner = key[len(rule.prefix):]
            if owner != tenant:
                return Classification(None, IgnoreReason.OTHER_TENANT)
            return Classification(rule.family)

    if key.startswith(CHAT_PREFIX):
        rest = key[len(CHAT_PREFIX):]
        if rest == f"{tenant}{GLOBAL_SUFFIX}":
            return Classification(Family.CHAT_SESSION, session_id=rest, is_global=True)
        if rest.endswith(GLOBAL_SUFFIX):
            return Classification(None, IgnoreReason.OTHER_TENANT)
        if foreign_browser:
            return Classification(None, IgnoreReason.AMBIGUOUS_SCOPE)
        return Classification(Family.CHAT_SESSION, session_id=rest)

    if any(m in key for m in PREFERENCE_MARKERS):
        readings = preference_readings(key)
        if len(readings) > 1 and any(t == tenant for _, t in readings):
            # `ui_preferences_settings_b` is tenant `b`'s or tenant `settings_b`'s: no tenant may claim it.
            return Classification(None, IgnoreReason.AMBIGUOUS_SCOPE)
        if len(readings) == 1 and readings[0][1] == tenant:
            return Classification(Family.PREFERENCES, name=readings[0][0])
        # A preference key of another tenant, or one whose tenant cannot be read: leave it in the browser.
        return Classification(None, IgnoreReason.OTHER_TENANT)

    if key in UNSCOPED_PREFERENCES:
        if key == "current_tenant_id" and foreign_browser:
            return Classification(None, IgnoreReason.OTHER_TENANT)
        if foreign_browser:
            return Classification(None, IgnoreReason.AMBIGUOUS_SCOPE)
        return Classification(Family.PREFERENCES, name=key)

    if foreign_browser:
        return Classification(None, IgnoreReason.AMBIGUOUS_SCOPE)
    return Classification(Family.UNKNOWN)
