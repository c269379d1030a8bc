"""The one bounded-concurrency helper: the service's secret writes and the Cosmos adapter's point writes use it.

A pool of at most `limit` workers pulls from one shared iterator (never one task per item: a plan can hold
100,000 documents), and the first failure cancels the others, so no write outlives a failed attempt (a stray
write landing after the retry's clean-up could leave stale documents).
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Coroutine, Iterable, TypeVar

T = TypeVar("T")


async def all_or_nothing(*aws: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run together; on the first failure cancel the rest, wait for them, and raise that failure alone."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks: list[asyncio.Task[Any]] = [group.create_task(a) for a in aws]
    except BaseExceptionGroup as eg:
        raise eg.exceptions[0] from None
    return [t.result() for t in tasks]


async def bounded(limit: int, items: Iterable[T], fn: Callable[[T], Awaitable[Any]]) -> list[Any]:
    """`fn` over `items` with at most `limit` calls in flight; results in the order of `items`."""
    work = list(items)
    results: list[Any] = [None] * len(work)
    pending = iter(enumerate(work))  # shared: each item is taken by exactly one worker

    async def worker() -> None:
        for i, item in pending:
            results[i] = await fn(item)

    await all_or_nothing(*(worker() for _ in range(min(max(1, limit), len(work)))))
    return results
