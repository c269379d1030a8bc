"""Bearer tokens: every bad token is a 401; Entra mode is checked against a real JWKS endpoint over HTTP."""
from __future__ import annotations

import base64
import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import Authenticator
from shared.http import HttpError

from ..helpers import AUDIENCE, DEV_SECRET, dev_env, free_port, settings_from


def _now() -> int:
    return int(time.time())  # at each call: a slow suite must not expire tokens minted at import


def _claims(**over):
    claims = {"iss": "https://dev.local/contoso/v2.0", "aud": AUDIENCE, "tid": "contoso", "oid": "user-1",
              "iat": _now(), "exp": _now() + 600}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _none_token(claims) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}."


async def _status(auth: Authenticator, header: str | None) -> int | str:
    try:
        p = await auth.authenticate({"authorization": header} if header is not None else {})
        return f"{p.tenant_id}/{p.user_id}"
    except HttpError as e:
        assert e.code == "AUTH_REQUIRED"
        return e.status


DEV_CASES = {
    "valid": (lambda: "Bearer " + jwt.encode(_claims(), DEV_SECRET, "HS256"), "contoso/user-1"),
    "missing": (lambda: None, 401),
    "not bearer": (lambda: "Basic abc", 401),
    "malformed": (lambda: "Bearer not.a.jwt", 401),
    "expired": (lambda: "Bearer " + jwt.encode(_claims(exp=_now() - 3600), DEV_SECRET, "HS256"), 401),
    "wrong audience": (lambda: "Bearer " + jwt.encode(_claims(aud="api://other"), DEV_SECRET, "HS256"), 401),
    "wrong issuer": (lambda: "Bearer " + jwt.encode(_claims(iss="https://evil/contoso/v2.0"), DEV_SECRET, "HS256"),
                     401),
    "issuer of another tenant": (lambda: "Bearer " + jwt.encode(_claims(iss="https://dev.local/fabrikam/v2.0"),
                                                                DEV_SECRET, "HS256"), 401),
    "wrong key": (lambda: "Bearer " + jwt.encode(_claims(), "another-secret-0123456789abcdef0123", "HS256"), 401),
    "alg none": (lambda: "Bearer " + _none_token(_claims()), 401),
    "no exp": (lambda: "Bearer " + jwt.encode(_claims(exp=None), DEV_SECRET, "HS256"), 401),
    "no tenant": (lambda: "Bearer " + jwt.encode(_claims(tid=None, iss="https://dev.local/{tid}/v2.0"),
                                                DEV_SECRET, "HS256"), 401),
    "no user": (lambda: "Bearer " + jwt.encode(_claims(oid=None), DEV_SECRET, "HS256"), 401),
}
# Ids become partition keys, vault-name inputs and log fields: only printable text of a sane length.
BAD_IDS = {"NUL": "b\x00c", "newline": "a\nb", "tab": "a\tb", "DEL": "a\x7f", "C1 control": "a\x85b",
           "line separator": "a\u2028b", "lone surrogate": "a\ud800", "lone low surrogate": "\udc00",
           "too long": "u" * 257, "empty": "", "not a string": 42, "list": ["a"]}
for _name, _bad in BAD_IDS.items():
    _issuer = "https://dev.local/{tid}/v2.0".replace("{tid}", _bad) if isinstance(_bad, str) else None
    DEV_CASES[f"tenant {_name}"] = (lambda b=_bad, i=_issuer: "Bearer " + jwt.encode(
        _claims(tid=b, iss=i or "https://dev.local/contoso/v2.0"), DEV_SECRET, "HS256"), 401)
    DEV_CASES[f"user {_name}"] = (lambda b=_bad: "Bearer " + jwt.encode(_claims(oid=b), DEV_SECRET, "HS256"), 401)
DEV_CASES["user of 256 characters"] = (lambda: "Bearer " + jwt.encode(_claims(oid="u" * 256), DEV_SECRET, "HS256"),
                                       "contoso/" + "u" * 256)
DEV_CASES["unicode user"] = (lambda: "Bearer " + jwt.encode(_claims(oid="Zoë-😀"), DEV_SECRET, "HS256"),
                             "contoso/Zoë-😀")


@pytest.mark.parametrize("case", list(DEV_CASES))
async def test_dev_mode_tokens(tmp_path, case):
    make, expected = DEV_CASES[case]
    auth = Authenticator(settings_from(dev_env(tmp_path)))
    assert await _status(auth, make()) == expected


@pytest.fixture(scope="module")
def jwks_server():
    server = _RotatingJwks()  # serving k1 only, never rotated here
    yield server.keys["k1"], server.url
    server.server.shutdown()


def _entra(tmp_path, url):
    env = dev_env(tmp_path, AUTH_MODE="entra", AUTH_JWKS_URL=url,
                  AUTH_ISSUER="https://login.microsoftonline.com/{tid}/v2.0")
    return Authenticator(settings_from(env))


async def test_entra_mode_validates_against_jwks(tmp_path, jwks_server):
    key, url = jwks_server
    auth = _entra(tmp_path, url)
    iss = "https://login.microsoftonline.com/contoso/v2.0"
    good = jwt.encode(_claims(iss=iss, roles=["Migration.Admin"]), key, "RS256", headers={"kid": "k1"})
    p = await auth.authenticate({"authorization": f"Bearer {good}"})
    assert (p.tenant_id, p.user_id, "Migration.Admin" in p.roles) == ("contoso", "user-1", True)

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "wrong key": jwt.encode(_claims(iss=iss), other, "RS256", headers={"kid": "k1"}),
        "unknown kid": jwt.encode(_claims(iss=iss), key, "RS256", headers={"kid": "k2"}),
        "HS256 with the public key as secret": jwt.encode(_claims(iss=iss), DEV_SECRET, "HS256",
                                                          headers={"kid": "k1"}),
        "alg none": _none_token(_claims(iss=iss)),
        "expired": jwt.encode(_claims(iss=iss, exp=_now() - 3600), key, "RS256", headers={"kid": "k1"}),
        "wrong audience": jwt.encode(_claims(iss=iss, aud="x"), key, "RS256", headers={"kid": "k1"}),
        "wrong issuer": jwt.encode(_claims(iss="https://login.microsoftonline.com/other/v2.0"), key, "RS256",
                                   headers={"kid": "k1"}),
    }
    for name, token in bad.items():
        assert await _status(auth, f"Bearer {token}") == 401, name


_ROTATION_KEYS = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")}


class _RotatingJwks:
    """A JWKS endpoint whose key set can change (rotation), counting its fetches."""

    def __init__(self):
        self.keys = _ROTATION_KEYS
        self.served = ["k1"]
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                jwks = []
                for kid in outer.served:
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(outer.keys[kid].public_key()))
                    jwk.update(kid=kid, use="sig", alg="RS256")
                    jwks.append(jwk)
                body = json.dumps({"keys": jwks}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/keys"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, kid: str, **claims) -> str:
        key = self.keys.get(kid) or self.keys["k1"]
        return jwt.encode(_claims(iss="https://login.microsoftonline.com/contoso/v2.0", **claims), key, "RS256",
                          headers={"kid": kid})


@pytest.fixture(scope="module")
def _jwks_endpoint():
    server = _RotatingJwks()
    yield server
    server.server.shutdown()


@pytest.fixture
def rotating_jwks(_jwks_endpoint):
    _jwks_endpoint.served, _jwks_endpoint.fetches = ["k1"], 0
    return _jwks_endpoint


def _entra_cached(tmp_path, url, seconds: int) -> Authenticator:
    env = dev_env(tmp_path, AUTH_MODE="entra", AUTH_JWKS_URL=url, AUTH_JWKS_CACHE_SECONDS=str(seconds),
                  AUTH_ISSUER="https://login.microsoftonline.com/{tid}/v2.0")
    return Authenticator(settings_from(env))


async def test_a_key_removed_from_the_jwks_stops_being_trusted(tmp_path, rotating_jwks):
    auth = _entra_cached(tmp_path, rotating_jwks.url, 1)
    old = f"Bearer {rotating_jwks.token('k1')}"
    assert await _status(auth, old) == "contoso/user-1"
    rotating_jwks.served = ["k2"]  # rotation: k1 is withdrawn
    new = f"Bearer {rotating_jwks.token('k2')}"
    time.sleep(1.2)  # past AUTH_JWKS_CACHE_SECONDS
    assert await _status(auth, new) == "contoso/user-1"
    assert await _status(auth, old) == 401


async def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(tmp_path, rotating_jwks):
    auth = _entra_cached(tmp_path, rotating_jwks.url, 3600)
    assert await _status(auth, f"Bearer {rotating_jwks.token('k1')}") == "contoso/user-1"
    before = rotating_jwks.fetches
    for i in range(25):  # a flood of made-up key ids
        assert await _status(auth, f"Bearer {rotating_jwks.token(f'forged-{i}')}") == 401
    assert rotating_jwks.fetches - before <= 1


@pytest.mark.parametrize("mode", ["dev", "entra"])
@pytest.mark.parametrize("tenant,roles,allowed", [
    ("ops", ["Migration.Admin"], True),                   # an operator
    ("evil-corp", ["Migration.Admin"], False),            # another tenant's own admin
    ("ops", [], False),                                   # a user of the operators' tenant
    ("contoso", [], False),                               # a user
    ("OPS", ["Migration.Admin"], False),                  # look-alike tenants
    ("ops ", ["Migration.Admin"], False),
    ("ops,evil", ["Migration.Admin"], False),
])
async def test_ops_need_the_role_and_an_operator_tenant(tmp_path, rotating_jwks, mode, tenant, roles, allowed):
    if mode == "dev":
        auth = Authenticator(settings_from(dev_env(tmp_path, AUTH_ADMIN_TENANTS="ops, ops-2")))
        bearer = jwt.encode(_claims(tid=tenant, iss=f"https://dev.local/{tenant}/v2.0", roles=roles), DEV_SECRET,
                            "HS256")
    else:
        auth = _entra_cached(tmp_path, rotating_jwks.url, 60)
        auth.settings = auth.settings.model_copy(update={"auth_admin_tenants": "ops, ops-2"})
        bearer = jwt.encode(_claims(tid=tenant, iss=f"https://login.microsoftonline.com/{tenant}/v2.0",
                                    roles=roles), rotating_jwks.keys["k1"], "RS256", headers={"kid": "k1"})
    principal = await auth.authenticate({"authorization": f"Bearer {bearer}"})
    if allowed:
        auth.require_admin(principal)
    else:
        with pytest.raises(HttpError) as e:
            auth.require_admin(principal)
        assert (e.value.status, e.value.code) == (403, "FORBIDDEN")


def test_no_operator_tenant_means_no_operator(tmp_path):
    auth = Authenticator(settings_from(dev_env(tmp_path, AUTH_ADMIN_TENANTS="")))
    from shared.auth import Principal
    with pytest.raises(HttpError):
        auth.require_admin(Principal("ops", "admin", frozenset({"Migration.Admin"})))


@pytest.mark.parametrize("marker", ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME", "WEBSITE_OWNER_NAME",
                                    "WEBSITE_RESOURCE_GROUP", "WEBSITE_SKU", "WEBSITE_POD_NAME",
                                    "WEBSITE_DEPLOYMENT_ID"])
@pytest.mark.parametrize("local_part", [{"AUTH_MODE": "dev"}, {"DOCUMENT_STORE": "embedded"},
                                        {"SECRET_STORE": "local"}, {"BACKUP_STORE": "local"},
                                        {"FAULT_INJECTION": "documents.write_set:fail"}])
def test_local_only_parts_refuse_every_azure_marker(tmp_path, marker, local_part):
    """Flex Consumption does not promise WEBSITE_INSTANCE_ID: any variable the platform sets counts."""
    azure = {"DOCUMENT_STORE": "cosmos", "SECRET_STORE": "keyvault", "BACKUP_STORE": "blob", "AUTH_MODE": "entra"}
    assert settings_from(dev_env(tmp_path, **azure, **{marker: "x"})).in_azure
    with pytest.raises(ValueError, match="refusing to run in Azure"):
        settings_from(dev_env(tmp_path, **{**azure, **local_part, marker: "FlexConsumption"}))
    assert not settings_from(dev_env(tmp_path, **local_part, **{marker: ""})).in_azure  # blank = not set


def test_dev_mode_refuses_to_run_in_azure(tmp_path):
    with pytest.raises(ValueError, match="AUTH_MODE=dev"):
        settings_from(dev_env(tmp_path, WEBSITE_INSTANCE_ID="abc", DOCUMENT_STORE="cosmos", SECRET_STORE="keyvault",
                              BACKUP_STORE="blob"))
    with pytest.raises(ValueError, match="DOCUMENT_STORE=embedded"):
        settings_from(dev_env(tmp_path, WEBSITE_INSTANCE_ID="abc", AUTH_MODE="entra"))


def _easy_auth_header(claims: list[tuple[str, str]]) -> str:
    principal = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
                 "claims": [{"typ": t, "val": v} for t, v in claims]}
    return base64.b64encode(json.dumps(principal).encode()).decode()


async def test_easy_auth_principal_only_when_the_platform_says_auth_is_on(tmp_path):
    header = _easy_auth_header([("http://schemas.microsoft.com/identity/claims/tenantid", "contoso"),
                                ("http://schemas.microsoft.com/identity/claims/objectidentifier", "user-1"),
                                ("roles", "Migration.Admin")])
    on = Authenticator(settings_from(dev_env(tmp_path, WEBSITE_AUTH_ENABLED="true")))
    p = await on.authenticate({"x-ms-client-principal": header})
    assert (p.tenant_id, p.user_id, p.roles) == ("contoso", "user-1", frozenset({"Migration.Admin"}))
    assert await _status(on, None) == 401
    off = Authenticator(settings_from(dev_env(tmp_path)))
    with pytest.raises(HttpError):  # without Easy Auth anyone could send the header
        await off.authenticate({"x-ms-client-principal": header})
    with pytest.raises(HttpError):
        await on.authenticate({"x-ms-client-principal": "not base64 json"})
