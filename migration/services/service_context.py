"""What every part of the migration service reads at call time: the ports, the settings and the clock.

One shared, mutable object: a test (or the resilience harness) swaps a port or the clock on a live service,
and every part sees the swap at its next call, as when the service was one class."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from shared.composition import Ports
from shared.settings import Settings


@dataclass
class ServiceContext:
    ports: Ports
    settings: Settings
    clock: Callable[[], float]


def elapsed_ms(started: float) -> int:
    """Milliseconds since `started`, a time.perf_counter() reading (a duration, so not the injectable clock)."""
    return round((time.perf_counter() - started) * 1000)
