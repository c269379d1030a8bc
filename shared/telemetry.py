"""OpenTelemetry → Application Insights, only when its connection setting is present (i.e. in Azure).

App Insights has local auth disabled in our Bicep, so the exporter authenticates with the managed identity
named in APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`Authorization=AAD;ClientId=<id>`). Locally nothing is
configured and the OpenTelemetry API calls below are no-ops.
"""
from __future__ import annotations

import logging

from opentelemetry import metrics

from .settings import Settings

log = logging.getLogger("telemetry")
_meter = metrics.get_meter("localstorage-migration")
_migrations = _meter.create_counter("migrations", description="Finished migration attempts by outcome")
_duration = _meter.create_histogram("migration.duration", unit="ms", description="Duration of completed migrations")


def configure(settings: Settings) -> bool:
    if not settings.appinsights_connection:
        return False
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    auth = dict(part.split("=", 1) for part in (settings.appinsights_authentication or "").split(";") if "=" in part)
    credential = ManagedIdentityCredential(client_id=auth["ClientId"]) if "ClientId" in auth else None
    configure_azure_monitor(connection_string=settings.appinsights_connection, credential=credential,
                            logger_name="migration")
    log.info("OpenTelemetry export to Application Insights configured")
    return True


def migration_finished(outcome: str, duration_ms: float | None = None) -> None:
    _migrations.add(1, {"outcome": outcome})
    if duration_ms is not None:
        _duration.record(duration_ms)
