"""Run an aiohttp application on its own event loop in a daemon thread, plus transport-fault injection.

Tests use several event loops (pytest-asyncio gives each test its own), so the stand-ins must not live on any of
them: a thread with a private loop serves every test of the session alike.
"""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from aiohttp import web

FAULT_KINDS = ("429", "503", "reset", "reset_after")


@dataclass
class _Fault:
    kind: str
    remaining: int
    retry_after: float
    match: Callable[[str, str], bool] | None


@dataclass
class FaultPlan:
    """Faults for the next matching requests, in order. Thread-safe: tests arm it from their own loop.

    kinds: "429"/"503" answer that status with Retry-After (and Cosmos' x-ms-retry-after-ms); "reset" drops the
    connection (TCP RST) before the request is handled; "reset_after" handles it, then drops the connection, so
    the server applied the write but the client never hears about it (the ambiguous case).
    """
    _faults: deque = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    injected: int = 0  # how many faults were served, for tests that assert retries really happened

    def inject(self, kind: str, count: int = 1, *, retry_after: float = 0.05,
               match: Callable[[str, str], bool] | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.append(_Fault(kind, count, retry_after, match))

    def clear(self) -> None:
        """Disarm every fault and reset the `injected` count."""
        with self._lock:
            self._faults.clear()
            self.injected = 0

    def take(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.match is None or f.match(method, path):
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                    self.injected += 1
                    return f
        return None

    def middleware(self):
        @web.middleware
        async def faults(request: web.Request, handler):
            fault = self.take(request.method, request.path)
            if fault is None:
                return await handler(request)
            if fault.kind == "reset":
                await request.read()
                return _reset(request)
            if fault.kind == "reset_after":
                await handler(request)
                return _reset(request)
            status = int(fault.kind)
            code = "TooManyRequests" if status == 429 else "ServiceUnavailable"
            # Both error shapes at once: Cosmos reads top-level code/message, Key Vault reads error.code.
            body = {"code": code, "message": "injected fault", "error": {"code": code, "message": "injected fault"}}
            headers = {"Retry-After": f"{fault.retry_after:g}",
                       "x-ms-retry-after-ms": str(int(fault.retry_after * 1000))}
            return web.json_response(body, status=status, headers=headers)
        return faults


class _Dropped(web.StreamResponse):
    """Returned after the connection was reset: aiohttp has nothing left to write."""

    async def prepare(self, request):
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def _reset(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST, the client sees "connection reset by peer"
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return _Dropped()


class ThreadedApp:
    """Serve `make_app()` (called on the server's loop) on 127.0.0.1:<free port> from a daemon thread."""

    def __init__(self, make_app: Callable[[], Awaitable[web.Application] | web.Application], *,
                 ssl_context=None, name: str = "stand-in"):
        self._make_app = make_app
        self._ssl = ssl_context
        self._name = name
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}/"

    def start(self) -> "ThreadedApp":
        self._thread = threading.Thread(target=self.loop.run_forever, name=self._name, daemon=True)
        self._thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        app = self._make_app()
        if asyncio.iscoroutine(app):
            app = await app
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()

    def run(self, coro, timeout: float = 30.0):
        """Run a coroutine on the server's loop from any other thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._runner is not None:
            self.run(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
        self._thread = None

    def __enter__(self) -> "ThreadedApp":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def json_error(status: int, code: str, message: str, inner: str | None = None) -> web.Response:
    """Key Vault's error shape: {"error": {"code", "message", "innererror": {"code"}}}."""
    err: dict = {"code": code, "message": message}
    if inner:
        err["innererror"] = {"code": inner}
    return web.Response(status=status, text=json.dumps({"error": err}), content_type="application/json")
