"""Adding to a tenant's counter documents (counters.py decides what to add)."""
from __future__ import annotations

import logging

from migration.domain import counters
from migration.domain.naming import path_part
from migration.services.service_context import ServiceContext
from shared.cosmos_layout import TENANT_LEVEL_USER
from shared.counter_updates import CounterUpdate

log = logging.getLogger("migration.service")  # the service's parts share one logger: log queries filter on it


class TenantCounters:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    async def add(self, tenant: str, deltas: dict[str, float], per_minute: bool = False) -> None:
        """Counters feed the metrics; losing one increment must never fail or undo a migration."""
        documents = self.ctx.ports.documents
        pk = (tenant, TENANT_LEVEL_USER)
        now = self.ctx.clock()
        try:  # building the updates checks their fields: a refused one is lost like a failed write
            updates = [CounterUpdate(counters.TOTALS_ID, deltas, counters.totals_base(tenant, TENANT_LEVEL_USER))]
            if per_minute:
                updates.append(CounterUpdate(counters.day_id(now), counters.minute(now),
                                             counters.day_base(tenant, now, TENANT_LEVEL_USER)))
            await documents.increment(pk, updates)  # one atomic write: never half of a completion counted
        except Exception as e:  # noqa: BLE001 - a lost increment must never fail the migration
            log.warning("counter update failed tenant=%s: %s", path_part(tenant), type(e).__name__)
