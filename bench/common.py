"""What the benchmark scenarios share: the run context, tables, payloads, the local host, latency models.

Benchmarks are not tests: they are run on demand (`python -m bench.run`) and print markdown tables. They reuse
the test helpers (the local host as a real process, dev tokens), the dumps of `localstorage_fixtures` and the
emulator launcher from `tests/support`, so a benchmark exercises exactly what the tests exercise.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from localstorage_fixtures import load_fixture
from tests.helpers import DevHostProcess, dev_env, settings_from, token

MODEL_LATENCY_S = 0.005  # one in-region Cosmos DB / Key Vault / Blob request, as modelled by the benchmarks


# --- the run ------------------------------------------------------------------------------------------------

@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"
            if isinstance(v, int) and not isinstance(v, bool):
                return f"{v:,}"
            return str(v).replace("|", "\\|")
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


class Context:
    """One benchmark run: quick mode, a scratch folder, emulators started on first use (or handed in)."""

    def __init__(self, quick: bool = False, runs: int | None = None, emulators: Any = None,
                 workdir: Path | None = None, log: Callable[[str], None] | None = None):
        self.quick, self.runs_override = quick, runs
        self._stack = contextlib.ExitStack()
        self._emulators = emulators
        if workdir is None:
            workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        self.workdir = workdir
        self.log = log or (lambda msg: None)

    def runs(self, full: int, quick: int = 2) -> int:
        if self.runs_override:
            return self.runs_override
        return quick if self.quick else full

    def tmp(self, name: str) -> Path:
        path = self.workdir / f"{name}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def emulators(self) -> Any:
        if self._emulators is None:
            from tests.support.emulators import all_emulators
            self.log("starting emulators (Cosmos stand-in, Azurite, Key Vault stand-in)")
            self._emulators = self._stack.enter_context(all_emulators(self.workdir / "emulator-logs"))
        return self._emulators

    def emulator_env(self) -> dict[str, str]:
        """The emulator stack with a container of each kind of its own (the stand-in scopes ids by tenant)."""
        env = dict(self.emulators().env())
        suffix = uuid.uuid4().hex[:10]
        env.update(COSMOS_CONTAINER=f"bench{suffix}", BACKUP_CONTAINER=f"bench{suffix}")
        return env

    def env(self, store: str, name: str, **extra: str) -> dict[str, str]:
        """Settings environment for `store` in ("embedded", "emulators")."""
        env = dev_env(self.tmp(name) / "data", **extra)
        if store == "emulators":
            env.update(self.emulator_env())
        return env

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- numbers ------------------------------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): with few runs, p95 is the largest but one, or the largest."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> float:
    return seconds * 1000


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


# --- payloads -----------------------------------------------------------------------------------------------

def payload(profile: str, tenant: str = "contoso", user: str = "bench", seed: int = 1, *,
            quick: bool = False) -> dict[str, str]:
    """A localStorage dump from the shared generator. Quick mode keeps every family but only two sessions."""
    return load_fixture(profile, tenant, user, seed, sessions=2 if quick else None)


def body_bytes(data: dict[str, str], **extra: Any) -> bytes:
    return json.dumps({"localStorage_data": data, **extra}).encode()


def size_mb(data: dict[str, str]) -> float:
    return len(json.dumps(data).encode()) / 1e6


# --- the local host as a real process -----------------------------------------------------------------------

class Host:
    """The local Functions host (`python -m shared.devhost`) as a subprocess, with its peak RSS."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.process = DevHostProcess(env, log_path)
        self.settings = settings_from(env)

    def __enter__(self) -> "Host":
        self.process.start()
        self.rss_at_start_mb = self.status_mb("VmRSS")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.stop()

    @property
    def base(self) -> str:
        return self.process.base

    @property
    def pid(self) -> int:
        return self.process.proc.pid

    def status_mb(self, field_name: str) -> float:
        """VmHWM (peak resident set) or VmRSS of the host process, from /proc (Linux), in MB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def token(self, tenant: str = "contoso", user: str = "user-1", admin: bool = False) -> str:
        return token(self.settings, tenant, user, ["Migration.Admin"] if admin else None)


def request(method: str, url: str, body: bytes | None = None, bearer: str | None = None,
            timeout: float = 300) -> tuple[int, bytes, dict[str, str], float]:
    """One HTTP request with a pre-encoded body: (status, raw body, headers, seconds from send to last byte)."""
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, raw, dict(r.headers), time.perf_counter() - started
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, raw, dict(e.headers), time.perf_counter() - started


def lost_keys(original: dict[str, str], result: dict, exported: dict[str, str]) -> list[str]:
    """Keys not ignored by the migration whose exported value is neither the same string nor deep-equal JSON."""
    from tests.helpers import json_equal_or_same
    ignored = {i["key"] for i in result["ignored"]}
    lost = [k for k, v in original.items()
            if k not in ignored and (k not in exported or not json_equal_or_same(v, exported[k]))]
    return lost + [k for k in exported if k not in original]


# --- wrappers around the ports: the latency model and counters ----------------------------------------------

class ModelledLatency:
    """Wraps a port: every call is one request to a remote service and first waits `delay` seconds.

    `write_set` is modelled as Cosmos serves it (one point write per document, `concurrency` in flight, as the
    Cosmos adapter does): ceil(documents / concurrency) round trips. `requests` counts the modelled requests.
    """

    def __init__(self, inner: Any, delay: float = MODEL_LATENCY_S, concurrency: int = 16):
        self._inner, self._delay, self._concurrency = inner, delay, max(1, concurrency)
        self.requests = 0
        self.round_trips = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name in ("close",) or name.startswith("_") or not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if name == "write_set":
                n = len(args[1]) + len(args[2] if len(args) > 2 else kwargs.get("deletes", ()))
                trips = math.ceil(n / self._concurrency) if n else 0
                self.requests += n
            else:
                trips = 1
                self.requests += 1
            self.round_trips += trips
            if trips:
                await asyncio.sleep(self._delay * trips)
            return await target(*args, **kwargs)
        return call


def union_seconds(spans: Any) -> float:
    """Total length of the union of (start, end) intervals."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


class Counting:
    """Wraps a port: counts calls per method, documents (or bytes) returned by reads, and time spent inside."""

    READS = ("read", "list_partition", "find", "list_ids", "count", "get")

    def __init__(self, inner: Any):
        self._inner = inner
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.spans: dict[str, list[tuple[float, float]]] = {}
        self.documents_read = 0
        self.bytes_read = 0

    def reset(self) -> None:
        self.calls.clear()
        self.seconds.clear()
        self.spans.clear()
        self.documents_read = self.bytes_read = 0

    def wall(self, *names: str) -> float:
        """Seconds during which at least one call of these methods was in flight (overlaps counted once)."""
        return union_seconds(s for n in names for s in self.spans.get(n, []))

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name.startswith("_") or name == "close" or not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = await target(*args, **kwargs)
            finally:
                ended = time.perf_counter()
                self.calls[name] = self.calls.get(name, 0) + 1
                self.seconds[name] = self.seconds.get(name, 0.0) + ended - started
                self.spans.setdefault(name, []).append((started, ended))
            if name in self.READS:
                if isinstance(result, list):
                    self.documents_read += len(result)
                elif isinstance(result, dict) and name == "count":
                    pass  # counted, not read
                elif isinstance(result, (bytes, bytearray)):
                    self.bytes_read += len(result)
                elif result is not None:
                    self.documents_read += 1
            return result
        return call

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())
