"""Picks one adapter per port from the settings. Called once per process by the app's composition root."""
from __future__ import annotations

from dataclasses import dataclass

from .ports import BackupStore, DocumentStore, SecretStore
from .settings import Settings


@dataclass
class Ports:
    documents: DocumentStore
    secrets: SecretStore
    backups: BackupStore

    async def close(self) -> None:
        for port in (self.documents, self.secrets, self.backups):
            await port.close()


def build_ports(settings: Settings) -> Ports:
    # Imports stay local so a local run never loads the Azure SDKs it does not use.
    documents: DocumentStore
    secrets: SecretStore
    backups: BackupStore
    if settings.document_store == "cosmos":
        from .cosmos_store import CosmosDocumentStore
        documents = CosmosDocumentStore.from_settings(settings)
    else:
        from .sqlite_store import SqliteDocumentStore
        documents = SqliteDocumentStore.from_settings(settings)
    if settings.secret_store == "keyvault":
        from .keyvault_secrets import KeyVaultSecretStore
        secrets = KeyVaultSecretStore.from_settings(settings)
    else:
        from .local_secrets import LocalSecretStore
        secrets = LocalSecretStore.from_settings(settings)
    if settings.backup_store == "blob":
        from .blob_backups import BlobBackupStore
        backups = BlobBackupStore.from_settings(settings)
    else:
        from .local_backups import LocalBackupStore
        backups = LocalBackupStore.from_settings(settings)
    ports = Ports(documents, secrets, backups)
    if settings.fault_injection:
        from .faults import wrap
        ports = wrap(ports, settings.fault_injection)
    return ports
