"""The composition root: builds the service from the settings once per process; tests swap it here."""
from __future__ import annotations

from dataclasses import dataclass

from migration.services.ops import OpsService
from migration.services.service import MigrationService
from shared import telemetry
from shared.auth import Authenticator
from shared.composition import Ports, build_ports
from shared.settings import Settings, get_settings


@dataclass
class Services:
    settings: Settings
    ports: Ports
    migration: MigrationService
    ops: OpsService
    auth: Authenticator

    async def close(self) -> None:
        await self.ports.close()


_current: Services | None = None


def build(settings: Settings, ports: Ports | None = None) -> Services:
    ports = ports or build_ports(settings)
    return Services(settings, ports, MigrationService(ports, settings), OpsService(ports, settings),
                    Authenticator(settings))


def services() -> Services:
    global _current
    if _current is None:
        settings = get_settings()
        telemetry.configure(settings)
        _current = build(settings)
    return _current


def use(replacement: Services | None) -> None:
    """Tests and the local host: install (or forget, with None) the services the handlers use."""
    global _current
    _current = replacement
