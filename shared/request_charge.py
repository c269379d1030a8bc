"""Request units spent, per migration: Cosmos reports each response's charge in `x-ms-request-charge`.

The Cosmos client calls `record` on every HTTP response (retries and failures included: Cosmos bills those
too). Charges go to the meter of the current context: `start()` opens one for the running task, and the
tasks it spawns share it (asyncio copies the context at task creation, and the meter is one mutable object),
so concurrent migrations in one process never mix their figures. Adapters without charges add nothing.
"""
from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = "x-ms-request-charge"


@dataclass
class Meter:
    total: float = 0.0
    responses: int = 0  # responses that carried a charge; 0 means the store reports none (embedded, stand-in)


_current: ContextVar[Meter | None] = ContextVar("request_charge_meter", default=None)


def start() -> Meter:
    """A fresh meter for this task (and the tasks it starts from now on)."""
    meter = Meter()
    _current.set(meter)
    return meter


def parse(value: str | None) -> float | None:
    """The header's value as RU, or None when absent or not a finite, non-negative number."""
    try:
        charge = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return charge if math.isfinite(charge) and charge >= 0 else None


def add(charge: float) -> None:
    meter = _current.get()
    if meter is not None:
        meter.total += charge
        meter.responses += 1


def record(pipeline_response) -> None:
    """azure-core `raw_response_hook`: add one response's charge to the current meter."""
    charge = parse(pipeline_response.http_response.headers.get(HEADER))
    if charge is not None:
        add(charge)
