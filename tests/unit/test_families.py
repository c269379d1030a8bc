"""Key families and scope rules (README: "Key families")."""
import pytest

from migration.domain.families import Family, IgnoreReason, classify

T = "contoso"
CASES = [
    ("ai_agents_contoso", Family.AGENTS, None),
    ("ai_agents_fabrikam", None, IgnoreReason.OTHER_TENANT),
    ("ai_agents_contoso_eu", None, IgnoreReason.OTHER_TENANT),      # a tenant whose id starts like ours
    ("ai_agents_", None, IgnoreReason.OTHER_TENANT),
    ("user_llm_configs_contoso", Family.LLM_CONFIGS, None),
    ("tenant_mcp_servers_contoso", Family.MCP_SERVERS, None),
    ("tenant_mcp_servers_globex", None, IgnoreReason.OTHER_TENANT),
    ("chat_session_sess_1", Family.CHAT_SESSION, None),
    ("chat_session_contoso_global", Family.CHAT_SESSION, None),
    ("chat_session_fabrikam_global", None, IgnoreReason.OTHER_TENANT),
    ("ui_preferences_contoso", Family.PREFERENCES, None),
    ("advanced_settings_contoso", Family.PREFERENCES, None),
    ("notification_preferences_fabrikam", None, IgnoreReason.OTHER_TENANT),
    ("theme", Family.PREFERENCES, None),
    ("current_tenant_id", Family.PREFERENCES, None),
    ("auth_token", None, IgnoreReason.AUTH_TOKEN),
    ("migration_completed", None, IgnoreReason.CLIENT_MARKER),
    ("rollback_active", None, IgnoreReason.CLIENT_MARKER),
    ("something_else", Family.UNKNOWN, None),
]


@pytest.mark.parametrize("key,family,reason", CASES)
def test_classify(key, family, reason):
    c = classify(key, T)
    assert (c.family, c.ignore) == (family, reason)


def test_tenant_ids_with_underscores():
    assert classify("ui_preferences_acme_eu", "acme_eu").family is Family.PREFERENCES
    assert classify("ui_preferences_acme_eu", "eu").ignore is IgnoreReason.OTHER_TENANT
    assert classify("chat_session_acme_eu_global", "acme_eu").is_global


@pytest.mark.parametrize("key", ["chat_session_s1", "theme", "something_else", "current_tenant_id"])
def test_unscoped_keys_are_left_alone_when_the_browser_was_on_another_tenant(key):
    c = classify(key, T, foreign_browser=True)
    assert c.family is None and c.ignore in (IgnoreReason.AMBIGUOUS_SCOPE, IgnoreReason.OTHER_TENANT)
    assert classify("ai_agents_contoso", T, foreign_browser=True).family is Family.AGENTS


@pytest.mark.parametrize("key,tenants", [
    ("ui_preferences_x_settings_a", ("a", "x_settings_a")),
    ("ui_preferences_settings_b", ("b", "settings_b")),
    ("advanced_settings_preferences_c", ("c", "preferences_c")),
    ("a_settings_settings_settings_t", ("t", "settings_t", "settings_settings_t")),
])
def test_preference_keys_that_could_name_two_tenants_are_left_alone(key, tenants):
    for tenant in tenants:
        assert classify(key, tenant).ignore is IgnoreReason.AMBIGUOUS_SCOPE, tenant


_WORDS = ("ui", "preferences", "settings", "a", "b", "global", "agents")
TENANT_SCOPED_FAMILIES = {Family.AGENTS, Family.LLM_CONFIGS, Family.MCP_SERVERS, Family.PREFERENCES}


def _keys(max_words: int = 5):
    import itertools
    for n in range(2, max_words + 1):
        for words in itertools.product(_WORDS, repeat=n):
            yield "_".join(words)
    for prefix in ("ai_agents_", "user_llm_configs_", "tenant_mcp_servers_", "chat_session_"):
        for n in range(1, 4):
            for words in itertools.product(_WORDS, repeat=n):
                yield prefix + "_".join(words)


def test_no_tenant_scoped_key_is_claimed_by_two_tenants():
    """Every key built from the family words, read by every tenant its text could name: at most one tenant
    migrates a key that carries a tenant (chat sessions and unscoped keys belong to the caller by design)."""
    checked = 0
    for key in _keys():
        parts = key.split("_")
        tenants = {"_".join(parts[i:]) for i in range(1, len(parts))}
        claims = []
        for t in tenants:
            c = classify(key, t)
            scoped = c.family in TENANT_SCOPED_FAMILIES and not (c.family is Family.PREFERENCES and c.name == key)
            if scoped or (c.family is Family.CHAT_SESSION and c.is_global):
                claims.append(t)
        assert len(claims) <= 1, (key, claims)
        checked += 1
    assert checked > 10_000
