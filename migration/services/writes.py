"""The write steps a migration and a merge share: secrets (new versions only when changed), a plan's
documents, and the soft delete of vault names nothing references any more."""
from __future__ import annotations

import logging

from migration.domain.naming import path_part
from migration.domain.planner import DATA_TYPES, Plan
from migration.services.service_context import ServiceContext
from shared.concurrency import bounded

log = logging.getLogger("migration.service")  # the service's parts share one logger: log queries filter on it


async def write_secrets(ctx: ServiceContext, plan: Plan) -> dict[str, str]:
    """Every secret of the plan; returns the version each name now holds (unchanged values keep theirs)."""
    written = await bounded(ctx.settings.secret_concurrency, plan.secrets.items(),
                            lambda kv: ctx.ports.secrets.set(kv[0], kv[1], {"source": "localstorage"}))
    return {name: w.version for name, w in zip(plan.secrets, written, strict=True)}


async def write_documents(ctx: ServiceContext, pk: tuple[str, str], plan: Plan) -> None:
    planned = {d["id"] for d in plan.documents}
    # Documents of an earlier attempt that this plan no longer has (another payload, a crash half-way).
    stale = [i for i in await ctx.ports.documents.list_ids(pk, DATA_TYPES) if i not in planned]
    await ctx.ports.documents.write_set(pk, plan.documents, stale)


async def drop_unreferenced_secrets(ctx: ServiceContext, pk: tuple[str, str], record: dict, plan: Plan) -> None:
    """Soft-delete this user's secrets that no live document references any more. The record lists
    every name an attempt may have written (kept from acquisition until completion), so this costs one
    delete per dropped name and no listing. It runs under the renewed lease, after the documents: the
    user's live documents are then exactly this plan's, and vault names are per user, so no other
    document can reference a name deleted here. Before completion: a failure here fails the attempt,
    and the retry deletes again (deleting a deleted name is a no-op)."""
    dropped = sorted(set(record.get("secretNames") or ()) - set(plan.secrets))
    if dropped:
        await bounded(ctx.settings.secret_concurrency, dropped, ctx.ports.secrets.delete)
        log.info("secrets dropped tenant=%s user=%s count=%d", path_part(pk[0]), path_part(pk[1]), len(dropped))
