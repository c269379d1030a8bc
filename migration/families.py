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
    "use_localstorage_fallback", "rollback_active",
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


def classify(key: str, tenant: str, *, foreign_browser: bool = False) -> Classification:
    """Family and scope of one key for a caller of `tenant`.

    `foreign_browser`: the payload's `current_tenant_id` names another tenant, so keys that name no tenant
    cannot be attributed safely.
    """
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
        name = key[: -(len(tenant) + 1)] if key.endswith(f"_{tenant}") else ""
        # A name that itself holds a marker followed by more text could also be another tenant's key
        # (`ui_preferences_x_settings_a` is tenant `a`'s or tenant `x_settings_a`'s): leave it alone.
        ambiguous = any(m in name[: name.rfind("_")] for m in PREFERENCE_MARKERS)
        if _PREF_NAME.fullmatch(name) and not ambiguous:
            return Classification(Family.PREFERENCES, name=name)
        if _PREF_NAME.fullmatch(name):
            return Classification(None, IgnoreReason.AMBIGUOUS_SCOPE)
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
