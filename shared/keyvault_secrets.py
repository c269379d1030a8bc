"""SecretStore on Azure Key Vault (async SDK).

- `set` reads first and writes only a changed value: every `set_secret` is a new version, and re-runs of a
  migration must not pile up versions. The read-compare-write loop also settles lost answers: if a write was
  stored but the connection dropped, the next round reads the value back and stops.
- aiohttp (≥3.10) silently re-sends a PUT once when a reused connection drops; for Key Vault that is a second
  version of the same value, so the transport below turns that off (our loop decides instead).
- A soft-deleted name stays reserved (409 ObjectIsDeletedButRecoverable): we recover it, then write.
- The SDK's own retries are off (`retry_total=0`): azure-core would wait up to 120 s per call; the bounded,
  Retry-After-honouring budget is `shared.azure_common.with_retries`.
- A local stand-in at https://127.0.0.1 / localhost gets a static token (it accepts any); never in Azure.
"""
from __future__ import annotations

import re
import time
from typing import Any, Mapping
from urllib.parse import urlparse

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import AioHttpTransport
from azure.keyvault.secrets.aio import SecretClient

from shared.azure_common import RetryPolicy, identity_credential, scrubbed, with_retries
from shared.ports import SecretVersion

NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
VERSION_RE = re.compile(r"^[0-9a-fA-F]{32}$")
MAX_VALUE_BYTES = 25 * 1024  # Key Vault's limit for a secret value
CONTENT_TYPE = "text/plain"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class _LocalStandInCredential:
    """Token for the local Key Vault stand-in only (it checks that a bearer token is present, nothing more)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("local-stand-in", int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        return None


class _NoResendTransport(AioHttpTransport):
    """aiohttp's transparent re-send of idempotent methods would turn one lost PUT answer into two versions."""

    async def open(self):
        await super().open()
        if self.session is not None and hasattr(self.session, "_retry_connection"):
            self.session._retry_connection = False  # noqa: SLF001 - private, hence hasattr: losing it only loses the guard


def check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError("Key Vault secret names are 1-127 characters of 0-9, a-z, A-Z and '-'")


class KeyVaultSecretStore:
    def __init__(self, client: SecretClient, *, retry: RetryPolicy = RetryPolicy(), credential: Any = None):
        self._client = client
        self._retry = retry
        self._credential = credential

    @classmethod
    def from_settings(cls, settings, *, retry: RetryPolicy | None = None) -> "KeyVaultSecretStore":
        uri = settings.key_vault_uri
        if not uri:
            raise ValueError("Key Vault needs KEY_VAULT__vaultUri")
        verify = settings.key_vault_verify_tls
        options: dict[str, Any] = {"retry_total": 0,
                                   "transport": _NoResendTransport(connection_verify=verify)}
        if not verify:
            options["connection_verify"] = False  # the stand-in's self-signed certificate
        if (urlparse(uri).hostname or "") in LOCAL_HOSTS:
            if settings.in_azure:
                raise ValueError("a local Key Vault stand-in URI is not allowed in Azure")
            credential: Any = _LocalStandInCredential()
            options["verify_challenge_resource"] = False  # its challenge names vault.azure.net, not 127.0.0.1
        else:
            credential = identity_credential(settings.key_vault_client_id)
        client = SecretClient(uri, credential, **options)
        return cls(client, retry=retry or RetryPolicy(), credential=credential)

    async def _call(self, what: str, op):
        return await with_retries(f"keyvault {what}", op, self._retry)

    async def _get_once(self, name: str, version: str | None = None) -> tuple[str | None, str | None]:
        try:
            secret = await self._client.get_secret(name, version)
        except ResourceNotFoundError:
            return None, None  # never set, soft-deleted, or no such version (Key Vault answers 404 for all)
        return secret.value, secret.properties.version

    async def set(self, name: str, value: str, tags: Mapping[str, str] | None = None) -> SecretVersion:
        check_name(name)
        if not isinstance(value, str) or len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
            raise ValueError(f"secret value must be a string of at most {MAX_VALUE_BYTES} bytes")
        changed = False
        version: str | None = None

        async def one_round() -> None:
            # Read, compare, write once. Transient failures repeat the whole round, so a write whose answer
            # was lost is found by the next read instead of being written again.
            nonlocal changed, version
            for _pass in range(2):  # a second pass only after recovering a soft-deleted name
                current, version = await self._get_once(name)
                if current == value:
                    return
                before, changed = changed, True  # from here a write may land even if its answer is lost
                try:
                    written = await self._client.set_secret(name, value, tags=dict(tags) if tags else None,
                                                            content_type=CONTENT_TYPE)
                    version = written.properties.version
                    return
                except ResourceExistsError as e:
                    changed = before  # refused: nothing was written
                    if _inner_code(e) != "ObjectIsDeletedButRecoverable":
                        raise
                    await self._client.recover_deleted_secret(name)
            raise ResourceExistsError("the secret name is still reserved after recovery")

        try:
            await self._call("set", one_round)
        except HttpResponseError as e:
            raise scrubbed(e, "keyvault set") from None
        return SecretVersion(version or "", created=changed)

    async def get(self, name: str, version: str | None = None) -> str | None:
        check_name(name)
        if version is not None and not VERSION_RE.match(version):
            raise ValueError("Key Vault secret versions are 32 hexadecimal characters")
        try:
            return (await self._call("get", lambda: self._get_once(name, version)))[0]
        except HttpResponseError as e:
            raise scrubbed(e, "keyvault get") from None

    async def delete(self, name: str) -> bool:
        """Soft delete (the vault keeps every version for its retention; purge protection forbids purging).
        The SDK waits until the deletion is complete, so a following `set` recovers instead of colliding."""
        check_name(name)

        async def once() -> bool:
            try:
                await self._client.delete_secret(name, _polling_interval=1)
                return True
            except ResourceNotFoundError:
                return False  # never set, or already deleted (a retry whose first answer was lost)
        try:
            return await self._call("delete", once)
        except HttpResponseError as e:
            raise scrubbed(e, "keyvault delete") from None

    async def health(self) -> None:
        # Any answer from the vault proves reachability and auth; a missing probe secret is the normal case.
        try:
            await self._call("health", lambda: self._get_once("health-probe"))
        except HttpResponseError as e:
            raise scrubbed(e, "keyvault health") from None

    async def close(self) -> None:
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()


def _inner_code(err: HttpResponseError) -> str | None:
    inner = getattr(getattr(err, "error", None), "innererror", None) or {}
    return inner.get("code") if isinstance(inner, dict) else getattr(inner, "code", None)
