"""What the three Azure adapters share: one retry loop, error scrubbing, identity credentials.

Why our own retry loop on top of the SDKs: each SDK retries differently (Cosmos retries 429 itself, Storage
ignores 429 and Retry-After, azure-core waits up to 120 s), and none of them knows which of our operations may be
repeated safely. One loop gives every adapter the same bounded budget, honours Retry-After / x-ms-retry-after-ms,
gives up early when the service asks for a longer pause than we can afford inside an HTTP request, and ends in
`DependencyUnavailable(retry_after=...)` (HTTP 503 + Retry-After for the caller).

Errors leave the adapters scrubbed: operation, status and service error code only. SDK messages can quote
request content, so they never reach our exceptions or logs (`from None` drops the chained original too).
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from shared.ports import DependencyUnavailable, StoreError

log = logging.getLogger("shared.azure")
T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Budget for one adapter operation (on top of whatever the SDK already did for that call)."""
    attempts: int = 4          # tries in total
    base_delay: float = 0.4    # first backoff when the service names no Retry-After; doubles, with jitter
    max_delay: float = 8.0     # longest single wait; a longer Retry-After means give up now and pass it on
    deadline: float = 25.0     # seconds one operation may spend, waits included


def _seconds(value: str) -> float:
    """Retry-After is delta-seconds or an HTTP date."""
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)  # raises ValueError/TypeError when malformed
        return max(0.0, when.timestamp() - time.time())


def retry_after_of(err: BaseException) -> float | None:
    """Retry-After (seconds or HTTP date), retry-after-ms or x-ms-retry-after-ms of a failed response."""
    headers = _headers(err)
    for name, scale in (("retry-after", 1.0), ("retry-after-ms", 1e-3), ("x-ms-retry-after-ms", 1e-3)):
        value = headers.get(name)
        if value:
            try:
                return _seconds(value) * scale
            except (ValueError, TypeError):
                continue
    return None


def _headers(err: BaseException) -> dict[str, str]:
    response = getattr(err, "response", None)
    raw = getattr(response, "headers", None) or getattr(err, "headers", None) or {}
    return {str(k).lower(): str(v) for k, v in dict(raw).items()}


def status_of(err: BaseException) -> int | None:
    return getattr(err, "status_code", None)


def is_transient(err: BaseException, extra: tuple[type[BaseException], ...] = ()) -> bool:
    if isinstance(err, extra):
        return True
    if isinstance(err, HttpResponseError):
        return status_of(err) in TRANSIENT_STATUS
    # Connection refused/reset, TLS handshake or read failures.
    return isinstance(err, (ServiceRequestError, ServiceResponseError))


def describe(err: BaseException) -> str:
    """A log/exception-safe description: status and service error code, never the message text."""
    status = status_of(err)
    if status is None:
        return type(err).__name__
    code = getattr(err, "error_code", None) or getattr(getattr(err, "error", None), "code", None)
    code = getattr(code, "value", code)  # Storage reports an enum
    activity = _headers(err).get("x-ms-activity-id") or _headers(err).get("x-ms-request-id")
    return f"HTTP {status}" + (f" {code}" if code else "") + (f" (request {activity})" if activity else "")


def scrubbed(err: BaseException, what: str) -> StoreError:
    return StoreError(f"{what} failed: {describe(err)}")


async def with_retries(what: str, op: Callable[[], Awaitable[T]], policy: RetryPolicy,
                       transient: tuple[type[BaseException], ...] = ()) -> T:
    """Run `op` until it succeeds, fails for good (re-raised as is) or the budget is spent (DependencyUnavailable).

    `op` must be safe to repeat: the adapters only pass reads, upserts, idempotent deletes, and writes whose
    repeat they reconcile themselves (create/replace/set read back what is stored).
    """
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await op()
        except Exception as err:  # classified right here
            if not is_transient(err, transient):
                raise
            hinted = retry_after_of(err)
            delay = hinted if hinted is not None else policy.base_delay * 2 ** (attempt - 1) * (
                0.5 + random.random())
            spent = time.monotonic() - started
            give_up = (attempt >= policy.attempts or delay > policy.max_delay
                       or spent + delay > policy.deadline)
            log.log(logging.WARNING if give_up else logging.INFO, "%s: transient %s (attempt %d/%d)%s", what,
                    describe(err), attempt, policy.attempts,
                    ", giving up" if give_up else f", retrying in {delay:.2f}s")
            if give_up:
                raise DependencyUnavailable(f"{what}: {describe(err)} after {attempt} attempt(s)",
                                            retry_after=max(1.0, hinted or policy.base_delay * 2 ** attempt)
                                            ) from None
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def identity_credential(client_id: str | None, mode: str | None = None):
    """The async token credential for identity-based connections (Functions convention).

    `<NAME>__credential=managedidentity` (+ optional `<NAME>__clientId`) → ManagedIdentityCredential only; otherwise
    DefaultAzureCredential (managed identity in Azure, developer sign-in on a laptop), pinned to the user-assigned
    identity when a client id is given.
    """
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if (mode or "").lower() == "managedidentity":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if client_id:
        return DefaultAzureCredential(managed_identity_client_id=client_id)
    return DefaultAzureCredential()
