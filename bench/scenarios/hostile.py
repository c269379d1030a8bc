"""hostile: the worst bodies one can build within the limits (MAX_BODY_BYTES and the per-request bounds), each
sent to a fresh local host (embedded store) as migrate, then as preview: status, time, documents written and the
host's peak RSS (VmHWM). The point is the ceiling one request can cost, not the typical case.
"""
from __future__ import annotations

import json
from typing import Callable

from ..common import Context, Host, Table, ms, request

MiB = 1024 * 1024


def _sessions(count: int, messages: int, content: str) -> dict[str, str]:
    return {f"chat_session_h{i}": json.dumps([{"role": "user", "content": content}] * messages)
            for i in range(count)}


def bodies(limit: int, items: int, documents: int) -> dict[str, Callable[[float], dict[str, str]]]:
    """Builders of bodies near `limit` bytes as sent; `scale` (≤ 1) shrinks one until it fits."""
    sessions = -(-documents // items)
    messages = min(items - 1, (documents - 16) // sessions - 1)  # every session under its share, all at the total
    text = max(1, (limit - 4096) // (sessions * messages) - 40)  # fills the body at the documents limit
    return {
        "one session of `0` messages, whole body": lambda k: {
            "chat_session_flood": "[" + ",".join(["0"] * int(k * limit / 2)) + "]"},
        "sessions just under the per-key share, to the documents limit": lambda k: _sessions(
            sessions, int(k * messages), "x"),
        "the same with message text filling the body": lambda k: _sessions(
            sessions, messages, "y" * int(k * text)),
        "`{pwd: 1}` items (vault writes)": lambda k: {
            "ai_agents_contoso": json.dumps([{"pwd": 1}] * int(k * min(items - 1, limit // 10)))},
        "junk agents (one warning per item)": lambda k: {
            "ai_agents_contoso": json.dumps(["j"] * int(k * min(items - 1, limit // 4)))},
        "one raw value, every character escaped": lambda k: {"unknown_blob": "\u0001" * int(k * limit / 6)},
    }


def _fit(build: Callable[[float], dict[str, str]], limit: int) -> bytes:
    scale = 1.0
    while True:
        body = json.dumps({"localStorage_data": build(scale)}).encode()
        if len(body) <= limit:
            return body
        scale *= 0.97


def run(ctx: Context) -> list[Table]:
    table = Table("hostile: the worst bodies within the limits (local host, embedded store)",
                  ["body", "MB sent", "route", "status", "code", "seconds", "documents", "peak RSS MB",
                   "RSS idle MB"])
    limit = 64 * 1024 if ctx.quick else 32 * MiB
    env_extra = {"MAX_BODY_BYTES": str(limit)}
    if ctx.quick:
        env_extra.update(MAX_ITEMS_PER_KEY="50", MAX_DOCUMENTS_PER_MIGRATION="400", MAX_SECRETS_PER_MIGRATION="40")
    for name, build in bodies(limit, int(env_extra.get("MAX_ITEMS_PER_KEY", 20_000)),
                              int(env_extra.get("MAX_DOCUMENTS_PER_MIGRATION", 100_000))).items():
        body = _fit(build, limit)
        for route in ("migrate-localstorage",) if ctx.quick else ("migrate-localstorage", "preview"):
            ctx.log(f"hostile: {name} {route} ({len(body) / MiB:.1f} MB)")
            env = ctx.env("embedded", f"hostile-{len(table.rows)}", **env_extra)
            with Host(env, ctx.workdir / "host-hostile.log") as host:
                status, raw, _, seconds = request("POST", f"{host.base}/migration/{route}", body,
                                                  host.token(user="attacker"))
                answer = json.loads(raw) if raw else {}
                docs = (answer.get("data") or {}).get("documents") if route == "preview" else (
                    sum((answer.get("data") or {}).get("summary", {}).values()) if status == 200 else 0)
                table.add(name, round(len(body) / MiB, 2), route, status, answer.get("code", "-"),
                          round(ms(seconds) / 1000, 2), docs if docs is not None else "-",
                          host.status_mb("VmHWM"), host.rss_at_start_mb)
    table.notes += [
        f"Limits: MAX_BODY_BYTES={limit}, and the defaults of MAX_ITEMS_PER_KEY, MAX_DOCUMENTS_PER_MIGRATION, "
        "MAX_SECRETS_PER_MIGRATION (README \"Bounds\") unless --quick.",
        "`documents`: planned documents (preview) or migrated records (migrate); 413 writes nothing.",
        "Peak RSS: VmHWM of a fresh host process that served only this one request.",
    ]
    return [table]
