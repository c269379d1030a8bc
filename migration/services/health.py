"""Readiness of the service's three stores, reported by kind of failure only."""
from __future__ import annotations

import asyncio
from typing import Any

from migration.services.service_context import ServiceContext

PORTS = ("documents", "secrets", "backups")


async def health(ctx: ServiceContext) -> dict:
    async def check(port: Any) -> str:
        try:
            await asyncio.wait_for(port.health(), timeout=5)
            return "ok"
        except Exception as e:  # noqa: BLE001 - reported by kind only: messages may name hosts
            return f"unavailable ({type(e).__name__})"
    results = await asyncio.gather(*(check(getattr(ctx.ports, n)) for n in PORTS))
    checks = dict(zip(PORTS, results, strict=True))
    s = ctx.settings
    return {"status": "ok" if all(r == "ok" for r in results) else "unavailable", "checks": checks,
            "adapters": {"documents": s.document_store, "secrets": s.secret_store, "backups": s.backup_store}}
