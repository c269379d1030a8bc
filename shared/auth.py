"""Bearer-token authentication: Microsoft Entra ID access tokens (RS256 via JWKS) or dev tokens (HS256).

Tenant and user come only from the validated token. Algorithms are pinned per mode, so `alg: none` and
algorithm-confusion tokens fail. `AUTH_ISSUER` may hold `{tid}`, filled from the token's tenant claim, for
multi-tenant Entra apps whose issuer names each customer's tenant.
"""
from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeGuard

import jwt

from .http import HttpError
from .settings import Settings

_MAX_ID_LEN = 256
# Tenant and user ids become partition keys, vault-name inputs and log fields: printable text only.
_BAD_ID_CHAR = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
# An unknown `kid` refetches the key set at most this often (a flood of made-up kids costs one fetch).
_JWKS_REFETCH_COOLDOWN = 60.0


def valid_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID_LEN and not _BAD_ID_CHAR.search(value)


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None


def _unauthorized(message: str = "A valid bearer token is required") -> HttpError:
    return HttpError(401, "AUTH_REQUIRED", message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Authenticator:
    def __init__(self, settings: Settings):
        self.settings = settings
        # The key set (not single keys: PyJWT's per-key cache never expires) is cached for
        # AUTH_JWKS_CACHE_SECONDS, so a key removed at rotation stops being trusted within that time.
        lifespan = settings.auth_jwks_cache_seconds
        self._jwks = (jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=False, cache_jwk_set=True,
                                      lifespan=lifespan, cooldown_duration=min(_JWKS_REFETCH_COOLDOWN, lifespan))
                      if settings.auth_mode == "entra" else None)

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        header = headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            easy_auth = headers.get("x-ms-client-principal")
            if easy_auth and self.settings.website_auth_enabled:
                return self._principal(_easy_auth_claims(easy_auth))
            raise _unauthorized()
        token = token.strip()
        try:
            if self._jwks is not None:
                # JWKS fetches are blocking HTTP calls (cached afterwards): keep them off the event loop.
                key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
                claims = self._decode(token, key, ["RS256"])
            else:
                claims = self._decode(token, self.settings.auth_dev_secret, ["HS256"])
        except jwt.PyJWTError:
            raise _unauthorized() from None
        return self._principal(claims)

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict:
        claims = jwt.decode(token, key, algorithms=algorithms, audience=self.settings.auth_audience,
                            options={"require": ["exp", "iss", "aud"]}, leeway=30)
        tenant = claims.get(self.settings.auth_tenant_claim)
        expected = self.settings.auth_issuer.replace("{tid}", tenant if isinstance(tenant, str) else "\x00")
        if claims.get("iss") != expected:
            raise jwt.InvalidIssuerError("issuer")
        return claims

    def _principal(self, claims: dict) -> Principal:
        tenant = claims.get(self.settings.auth_tenant_claim)
        user = claims.get(self.settings.auth_user_claim)
        if not (valid_id(tenant) and valid_id(user)):
            raise _unauthorized("The token's tenant or user claim is missing or not a valid id")
        roles = claims.get("roles") or []
        return Principal(tenant, user, frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list)
                         else frozenset(), claims.get("name") if isinstance(claims.get("name"), str) else None)

    def require_admin(self, principal: Principal) -> None:
        """Operators: the admin role AND a tenant of AUTH_ADMIN_TENANTS. In a multi-tenant Entra app each
        customer's own admin can grant the role in their tenant, so the role alone proves nothing."""
        settings = self.settings
        if settings.auth_admin_role not in principal.roles or principal.tenant_id not in settings.admin_tenants:
            raise HttpError(403, "FORBIDDEN", "This route is for the platform's operators")


_EASY_AUTH_ALIASES = {"http://schemas.microsoft.com/identity/claims/tenantid": "tid",
                      "http://schemas.microsoft.com/identity/claims/objectidentifier": "oid"}


def _easy_auth_claims(header: str) -> dict:
    """App Service Easy Auth's principal (base64 JSON of {claims: [{typ, val}]}), validated by the platform."""
    try:
        principal = json.loads(base64.b64decode(header, validate=False))
        claims: dict[str, Any] = {}
        for claim in principal.get("claims", []):
            typ, val = _EASY_AUTH_ALIASES.get(claim["typ"], claim["typ"]), claim["val"]
            if typ in ("roles", principal.get("role_typ")):
                claims.setdefault("roles", []).append(val)
            else:
                claims.setdefault(typ, val)
        return claims
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _unauthorized() from None


def mint_dev_token(settings: Settings, tenant: str, user: str, *, roles: list[str] | None = None,
                   ttl: int = 3600, name: str | None = None) -> str:
    """A dev-mode token (HS256 with AUTH_DEV_SECRET). Refused outside dev mode."""
    if settings.auth_mode != "dev" or not settings.auth_dev_secret:
        raise RuntimeError("dev tokens need AUTH_MODE=dev and AUTH_DEV_SECRET")
    now = int(time.time())
    claims = {"iss": settings.auth_issuer.replace("{tid}", tenant), "aud": settings.auth_audience,
              settings.auth_tenant_claim: tenant, settings.auth_user_claim: user, "iat": now, "nbf": now,
              "exp": now + ttl, "roles": roles or []}
    if name:
        claims["name"] = name
    return jwt.encode(claims, settings.auth_dev_secret, algorithm="HS256")
