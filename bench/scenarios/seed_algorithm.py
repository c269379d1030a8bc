"""seed_algorithm: the seed plan's migration algorithm versus our service, same payload, same stores, same run.

The seed (`../shared/seed/000_*.txt` §2, `LocalStorageMigrationService.migrateUserData`) checks the status,
writes the backup, then inserts one record at a time, each awaited before the next: every agent, every LLM config
(its API key and endpoint stored in the vault first, one after the other), every chat session and then each of
its messages, one merged preferences record, and a log record. `SeedAlgorithm` below does exactly that through the
same ports our service uses (`documents.create` per record, sequentially). It does less than our service: no MCP
servers (seed flaw 1), no manifest, no quarantine, no lease, no idempotency.

Cells:
- embedded store + modelled latency: every port call waits 5 ms first (an in-region Cosmos DB / Key Vault / Blob
  request); a write set waits one 5 ms round trip per WRITE_CONCURRENCY documents (Cosmos serves a write set
  as that many concurrent point writes). Local CPU and SQLite time come on top, as measured.
- Cosmos stand-in (with Azurite and the Key Vault stand-in), loopback, no added latency.
- Cosmos stand-in + 5 ms added in the SDK's HTTP transport (every Cosmos request); the vault and blob ports get
  the 5 ms per call in the port wrapper.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from azure.core.pipeline.transport import AioHttpTransport

from migration.domain.planner import user_tag
from migration.services.service import MigrationService
from shared.composition import Ports, build_ports
from shared.settings import Settings
from tests.helpers import settings_from

from ..common import MODEL_LATENCY_S, Context, ModelledLatency, Table, mark, median, ms, payload


class SeedAlgorithm:
    """The seed's `migrateUserData`, record by record, through our ports."""

    def __init__(self, ports: Ports):
        self.ports = ports
        self.requests = 0

    async def migrate(self, tenant: str, user: str, data: dict[str, str], backup_requested: bool = True) -> dict:
        pk, tag = (tenant, user), user_tag(user)
        counter = iter(range(1_000_000))
        docs = self.ports.documents

        async def insert(doc_type: str, **fields: Any) -> str:
            doc_id = f"seed.{tag}.{doc_type}.{next(counter)}"  # the seed's database assigned ids
            await docs.create(pk, {"id": doc_id, "type": f"seed_{doc_type}", "tenantId": tenant, "userId": user,
                                   **fields})
            return doc_id

        async def store_secret(value: str) -> str:
            name = "seed-" + hashlib.sha256(f"{tenant}\x00{user}\x00{value}".encode()).hexdigest()[:40]
            await self.ports.secrets.set(name, value)
            return name

        result: dict[str, Any] = {"success": True, "migratedRecords": 0, "errors": [], "summary": {}}
        await docs.read(pk, f"seed.{tag}.status")  # MigrationService.checkMigrationStatus
        if backup_requested:  # MigrationService.createDataBackup (the seed stored the raw payload)
            body = json.dumps({"tenantId": tenant, "userId": user, "localStorage": data}).encode()
            await self.ports.backups.write(f"seed/{tag}/{hashlib.sha256(body).hexdigest()[:16]}.json", body, {})
        # 1. agents
        agents = _json(data.get(f"ai_agents_{tenant}"))
        if isinstance(agents, list):
            for agent in agents:
                await insert("agent", data=agent)
                result["migratedRecords"] += 1
            result["summary"]["agents"] = len(agents)
        # 2. LLM configs, secrets first
        configs = _json(data.get(f"user_llm_configs_{tenant}"))
        if isinstance(configs, list):
            for config in configs:
                record = {k: v for k, v in config.items() if k not in ("apiKey", "endpoint")}
                if config.get("apiKey"):
                    record["api_key_vault_secret"] = await store_secret(config["apiKey"])
                if config.get("endpoint"):
                    record["endpoint_vault_secret"] = await store_secret(config["endpoint"])
                await insert("llm_config", data=record)
                result["migratedRecords"] += 1
            result["summary"]["llm_configs"] = len(configs)
        # 3. chat sessions, then each message
        sessions = messages = 0
        for key in [k for k in data if k.startswith("chat_session_")]:
            chat = _json(data[key])
            if chat is None:
                result["errors"].append(f"Chat session migration error for {key}")
                continue
            session_id = await insert("chat_session", sourceKey=key)
            if isinstance(chat, list):
                for i, message in enumerate(chat):
                    message = message if isinstance(message, dict) else {}
                    await insert("chat_message", session_id=session_id, role=message.get("role") or "user",
                                 content=message.get("content") or message.get("message"), sequence_number=i + 1,
                                 created_at=message.get("timestamp"))
                    messages += 1
            sessions += 1
            result["migratedRecords"] += 1
        result["summary"].update(chat_sessions=sessions, chat_messages=messages)
        # 4. preferences, merged into one record
        prefs: dict[str, Any] = {"theme": data.get("theme", "light"), "ui_preferences": {},
                                 "notification_preferences": {}, "privacy_settings": {}, "advanced_settings": {}}
        for key in data:
            if "_preferences_" in key or "_settings_" in key:
                value = _json(data[key])
                if isinstance(value, dict):
                    category = next((c for needle, c in (("ui_preferences", "ui_preferences"),
                                                         ("notification", "notification_preferences"),
                                                         ("privacy", "privacy_settings")) if needle in key),
                                    "advanced_settings")
                    prefs[category] = {**prefs[category], **value}
        await insert("preferences", data=prefs)
        result["migratedRecords"] += 1
        result["summary"]["preferences"] = 1
        # 5. logMigrationResult
        await insert("migration_log", result=dict(result))
        return result


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class DelayedTransport(AioHttpTransport):
    """azure-core's aiohttp transport with a fixed wait before every request (modelled network latency)."""

    def __init__(self, delay: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.delay = delay
        self.requests = 0

    async def send(self, request: Any, **config: Any) -> Any:
        self.requests += 1
        await asyncio.sleep(self.delay)
        return await super().send(request, **config)


def _cosmos_with_delay(settings: Settings, delay: float) -> tuple[Any, DelayedTransport]:
    from azure.cosmos.aio import CosmosClient

    from shared.cosmos_store import CosmosDocumentStore
    transport = DelayedTransport(delay, connection_verify=settings.cosmos_verify_tls)
    client = CosmosClient.from_connection_string(settings.cosmos_connection, connection_verify=False,
                                                 transport=transport, retry_connect=2, retry_read=2)
    store = CosmosDocumentStore(client, settings.cosmos_database, settings.cosmos_container,
                                write_concurrency=settings.write_concurrency)
    return store, transport


CELLS = (
    ("embedded + 5 ms model (port wrapper)", "embedded", "port"),
    ("Cosmos stand-in (loopback, nothing added)", "emulators", None),
    ("Cosmos stand-in + 5 ms (SDK transport)", "emulators", "transport"),
)


def run(ctx: Context) -> list[Table]:
    table = Table(f"seed_algorithm: the seed's one-insert-at-a-time algorithm vs our service "
                  f"(modelled latency {MODEL_LATENCY_S * 1000:.0f} ms per request where stated)",
                  ["store", "profile", "records", "runs", "seed ms", "ours ms", "ratio", "seed requests",
                   "ours requests", "target"])
    profiles = ("typical",) if ctx.quick else ("typical", "heavy")
    for label, store, model in CELLS:
        for profile in profiles:
            runs = ctx.runs(full=3 if profile == "typical" else 1, quick=1)
            ctx.log(f"seed_algorithm: {label} {profile} x{runs}")
            seed_s, ours_s, seed_req, ours_req, records = asyncio.run(_cell(ctx, store, model, profile, runs))
            ratio = median(seed_s) / median(ours_s)
            target = "-" if model is None or ctx.quick else f"{mark(ratio >= 10)} ≥ 10×"
            table.add(label, profile + (" (quick)" if ctx.quick else ""), records, runs, ms(median(seed_s)),
                      ms(median(ours_s)), f"{ratio:.1f}×", seed_req, ours_req, target)
    table.notes += [
        "Both algorithms run in the same process against the same store, alternating, each user distinct; "
        "`ms` is the median wall time of the migration call (no HTTP).",
        f"Modelled latency: {MODEL_LATENCY_S * 1000:.0f} ms per request (an in-region Cosmos DB point write; "
        "the same for Key Vault and Blob). Embedded: added by a port wrapper; a write set of n documents costs "
        "ceil(n / WRITE_CONCURRENCY=16) round trips, as the Cosmos adapter runs it. Stand-in + 5 ms: added in "
        "the Cosmos SDK's HTTP transport to every request; vault and blob ports by the wrapper.",
        "`requests`: modelled requests (port wrapper: documents/secrets/backups calls, one per document in a "
        "write set) or, for the stand-in + transport row, Cosmos HTTP requests + wrapped vault/blob calls.",
        "The seed does less than our service (no MCP servers, manifest, quarantine, lease or idempotency): "
        "`records` counts its records.",
        "The plain stand-in row has no modelled latency: a loopback round trip to a single-threaded node "
        "server on the same 2 cores, so concurrency buys little there; it shows the cost of the real "
        "SDK and adapter code, not what Azure would do.",
        "Stand-in + 5 ms: our 16-wide writes hide the added 5 ms, but the stand-in serves at most ~700-1,000 "
        "writes/s on its one node thread (1,000 upserts take 1.2-1.6 s even 16 at a time), which caps the "
        "ratio; the embedded + model row isolates the algorithms.",
    ]
    return [table]


async def _cell(ctx: Context, store: str, model: str | None, profile: str, runs: int):
    env = ctx.env(store, f"seed-{store}")
    settings = settings_from(env)
    ports = build_ports(settings)
    transport = None
    if model == "port":
        ports = Ports(*(ModelledLatency(p, concurrency=settings.write_concurrency)
                        for p in (ports.documents, ports.secrets, ports.backups)))
    elif model == "transport":
        await ports.documents.close()
        documents, transport = _cosmos_with_delay(settings, MODEL_LATENCY_S)
        ports = Ports(documents, ModelledLatency(ports.secrets), ModelledLatency(ports.backups))
    ours = MigrationService(ports, settings)
    seed = SeedAlgorithm(ports)
    data = payload(profile, quick=ctx.quick)
    await ports.documents.health()  # first connections and the container exist before timing
    await ports.backups.health()
    seed_s, ours_s, seed_req, ours_req, records = [], [], 0, 0, 0
    try:
        for i in range(runs):
            for name, algorithm in (("seed", seed), ("ours", ours)):
                before = _requests(ports, transport)
                started = time.perf_counter()
                result = await algorithm.migrate("contoso", f"{name}-{profile}-{i}", data)
                elapsed = time.perf_counter() - started
                spent = _requests(ports, transport) - before
                if name == "seed":
                    seed_s.append(elapsed)
                    seed_req, records = spent, result["migratedRecords"] + sum(
                        result["summary"].get(k, 0) for k in ("chat_messages",))
                else:
                    ours_s.append(elapsed)
                    ours_req = spent
    finally:
        await ports.close()
    return seed_s, ours_s, seed_req or "-", ours_req or "-", records


def _requests(ports: Ports, transport: DelayedTransport | None) -> int:
    total = transport.requests if transport is not None else 0
    for p in (ports.documents, ports.secrets, ports.backups):
        total += getattr(p, "requests", 0) if isinstance(p, ModelledLatency) else 0
    return total
