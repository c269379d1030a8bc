"""The one typed settings object, read once from the environment (Functions app settings).

Names follow the Functions conventions so that one setting serves a trigger binding and the SDK client:
`COSMOS__accountEndpoint`, `BACKUP_STORAGE__blobServiceUri`, `<NAME>__credential`, `<NAME>__clientId`.
A bare `COSMOS` / `BACKUP_STORAGE` holds a connection string and is meant for emulators only.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Variables the Functions platform sets on its instances (App Service, Consumption, Premium, Flex Consumption,
# Container Apps) and Core Tools does not: any one of them means "this is Azure". Flex does not promise
# WEBSITE_INSTANCE_ID, so one marker is not enough. (Core Tools sets WEBSITE_HOSTNAME=localhost:7071, so that
# one is no signal, nor is CONTAINER_NAME, which other container hosts set too.)
AZURE_MARKERS = ("WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME", "WEBSITE_OWNER_NAME", "WEBSITE_RESOURCE_GROUP",
                 "WEBSITE_SKU", "WEBSITE_POD_NAME", "WEBSITE_DEPLOYMENT_ID")



class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", populate_by_name=False)

    # --- which adapter serves each port -------------------------------------------------------
    document_store: Literal["embedded", "cosmos"] = Field("embedded", validation_alias="DOCUMENT_STORE")
    secret_store: Literal["local", "keyvault"] = Field("local", validation_alias="SECRET_STORE")
    backup_store: Literal["local", "blob"] = Field("local", validation_alias="BACKUP_STORE")
    local_data_dir: Path = Field(PROJECT_ROOT / ".localdata", validation_alias="LOCAL_DATA_DIR")
    local_secrets_key: str | None = Field(None, validation_alias="LOCAL_SECRETS_KEY")

    # --- Cosmos DB ----------------------------------------------------------------------------
    cosmos_connection: str | None = Field(None, validation_alias="COSMOS")
    cosmos_endpoint: str | None = Field(None, validation_alias="COSMOS__accountEndpoint")
    cosmos_credential: str | None = Field(None, validation_alias="COSMOS__credential")
    cosmos_client_id: str | None = Field(None, validation_alias="COSMOS__clientId")
    cosmos_database: str = Field("agentplatform", validation_alias="COSMOS_DATABASE")
    cosmos_container: str = Field("userdata", validation_alias="COSMOS_CONTAINER")
    cosmos_verify_tls: bool = Field(True, validation_alias="COSMOS_VERIFY_TLS")

    # --- Blob storage (backups) ---------------------------------------------------------------
    backup_connection: str | None = Field(None, validation_alias="BACKUP_STORAGE")
    backup_service_uri: str | None = Field(None, validation_alias="BACKUP_STORAGE__blobServiceUri")
    backup_credential: str | None = Field(None, validation_alias="BACKUP_STORAGE__credential")
    backup_client_id: str | None = Field(None, validation_alias="BACKUP_STORAGE__clientId")
    backup_container: str = Field("backups", validation_alias="BACKUP_CONTAINER")

    # --- Key Vault ----------------------------------------------------------------------------
    key_vault_uri: str | None = Field(None, validation_alias="KEY_VAULT__vaultUri")
    key_vault_client_id: str | None = Field(None, validation_alias="KEY_VAULT__clientId")
    key_vault_verify_tls: bool = Field(True, validation_alias="KEY_VAULT_VERIFY_TLS")

    # --- auth ---------------------------------------------------------------------------------
    auth_mode: Literal["entra", "dev"] = Field("entra", validation_alias="AUTH_MODE")
    auth_issuer: str = Field("https://login.microsoftonline.com/{tid}/v2.0", validation_alias="AUTH_ISSUER")
    auth_audience: str = Field("api://agent-platform-migration", validation_alias="AUTH_AUDIENCE")
    auth_jwks_url: str = Field("https://login.microsoftonline.com/common/discovery/v2.0/keys",
                               validation_alias="AUTH_JWKS_URL")
    auth_tenant_claim: str = Field("tid", validation_alias="AUTH_TENANT_CLAIM")
    auth_user_claim: str = Field("oid", validation_alias="AUTH_USER_CLAIM")
    auth_admin_role: str = Field("Migration.Admin", validation_alias="AUTH_ADMIN_ROLE")
    auth_dev_secret: str | None = Field(None, validation_alias="AUTH_DEV_SECRET")
    # Ops routes need the admin role AND a token of one of these tenants: in a multi-tenant app every
    # customer's own admin can assign themselves the role. Empty: nobody operates.
    auth_admin_tenants: str = Field("", validation_alias="AUTH_ADMIN_TENANTS")
    # Signing keys removed from the JWKS stop being trusted within this time.
    auth_jwks_cache_seconds: int = Field(3600, validation_alias="AUTH_JWKS_CACHE_SECONDS", ge=1, le=3600)

    # --- HTTP ---------------------------------------------------------------------------------
    cors_allowed_origins: str = Field("", validation_alias="CORS_ALLOWED_ORIGINS")
    # A full 5 M-character localStorage, every character escaped as \uXXXX, still fits.
    max_body_bytes: int = Field(32 * 1024 * 1024, validation_alias="MAX_BODY_BYTES", gt=0)
    max_json_depth: int = Field(32, validation_alias="MAX_JSON_DEPTH", gt=1)

    # --- migration behaviour --------------------------------------------------------------------
    lease_seconds: float = Field(120.0, validation_alias="MIGRATION_LEASE_SECONDS", gt=0)
    write_concurrency: int = Field(16, validation_alias="WRITE_CONCURRENCY", ge=1, le=256)
    # Migrations planned and written at once per process: beyond a few, each only waits longer and holds
    # its payload in memory (bench: p50 3.7 s -> 2.0 s, RSS 253 -> 132 MB at 50 users, same throughput).
    migration_concurrency: int = Field(4, validation_alias="MIGRATION_CONCURRENCY", ge=1, le=64)
    secret_concurrency: int = Field(8, validation_alias="SECRET_CONCURRENCY", ge=1, le=64)
    max_document_bytes: int = Field(1_500_000, validation_alias="MAX_DOCUMENT_BYTES", ge=4096)
    # What one migration or preview may cost (README "Bounds"): over a total -> 413, nothing written; a key
    # that would explode into more items than its share is kept whole (raw, quarantined `too_many_items`).
    max_documents: int = Field(100_000, validation_alias="MAX_DOCUMENTS_PER_MIGRATION", ge=100)
    max_items_per_key: int = Field(20_000, validation_alias="MAX_ITEMS_PER_KEY", ge=10)
    max_secrets: int = Field(2_000, validation_alias="MAX_SECRETS_PER_MIGRATION", ge=10)
    max_keys: int = Field(10_000, validation_alias="MAX_KEYS_PER_MIGRATION", ge=10)
    rollout_tenants: str = Field("*", validation_alias="MIGRATION_ROLLOUT_TENANTS")
    sweep_schedule: str = Field("0 */15 * * * *", validation_alias="SWEEP_SCHEDULE")
    sweep_sample_size: int = Field(20, validation_alias="SWEEP_SAMPLE_SIZE", ge=0)

    # Local runs and tests only (see shared/faults.py); refused in Azure.
    fault_injection: str | None = Field(None, validation_alias="FAULT_INJECTION")

    # --- platform -----------------------------------------------------------------------------
    azure_marker: str | None = Field(None, validation_alias=AliasChoices(*AZURE_MARKERS))
    # Set by App Service when Easy Auth is on: only then is X-MS-CLIENT-PRINCIPAL the platform's own header.
    website_auth_enabled: bool = Field(False, validation_alias="WEBSITE_AUTH_ENABLED")
    appinsights_connection: str | None = Field(None, validation_alias="APPLICATIONINSIGHTS_CONNECTION_STRING")
    appinsights_authentication: str | None = Field(None, validation_alias="APPLICATIONINSIGHTS_AUTHENTICATION_STRING")

    @field_validator("local_data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v if v.is_absolute() else (PROJECT_ROOT / v)

    @property
    def in_azure(self) -> bool:
        return bool(self.azure_marker and self.azure_marker.strip())

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allowed_origins.split(",") if o.strip()]

    @property
    def admin_tenants(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.auth_admin_tenants.split(",") if t.strip())

    @property
    def rollout_all(self) -> bool:
        return self.rollout_tenants.strip() == "*"

    @property
    def rollout_list(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.rollout_tenants.split(",") if t.strip() and t.strip() != "*")

    @model_validator(mode="after")
    def _refuse_local_parts_in_azure(self) -> "Settings":
        # The embedded adapters and dev tokens are for laptops; in Azure they would be a silent hole.
        if self.in_azure:
            local = [n for n, bad in (("DOCUMENT_STORE=embedded", self.document_store == "embedded"),
                                       ("SECRET_STORE=local", self.secret_store == "local"),
                                       ("BACKUP_STORE=local", self.backup_store == "local"),
                                       ("AUTH_MODE=dev", self.auth_mode == "dev"),
                                       ("FAULT_INJECTION", bool(self.fault_injection))) if bad]
            if local:
                raise ValueError("refusing to run in Azure with local-only settings: " + ", ".join(local))
        if self.auth_mode == "dev" and not self.auth_dev_secret:
            raise ValueError("AUTH_MODE=dev needs AUTH_DEV_SECRET")
        return self


def setting_names() -> list[str]:
    """Every environment name the code reads (used by the infra and sample-settings tests)."""
    names = []
    for f in Settings.model_fields.values():
        alias = f.validation_alias
        # The Azure markers are read, not set: the first stands for all of them.
        names.append(str(alias.choices[0]) if isinstance(alias, AliasChoices) else str(alias))
    return names


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """For tests and the local host: forget the cached object so the next read sees the environment."""
    get_settings.cache_clear()


