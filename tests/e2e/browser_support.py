"""Fixtures and helpers for the browser tests: headless Debian Chromium driven by Playwright (sync API), the
local Functions host as a real process, and `client/` served from a second origin so CORS is exercised.

Imported by tests/e2e/conftest.py with `from .browser_support import *`.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import http.server as http_server
import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from shared.settings import PROJECT_ROOT

from ..helpers import DevHostProcess, dev_env, http as http_call, settings_from, token

__all__ = ["CHROMIUM_ARGS", "SCREENSHOTS", "LocalApi", "Console", "chromium_path", "pw", "browser",
           "static_origin", "local_api", "context", "new_page", "wait_state", "seed_storage", "storage_snapshot",
           "screenshot", "MIGRATE_LINE", "CLIENT_HARNESS"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLIENT_DIR = PROJECT_ROOT / "client"
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
MIGRATE_LINE = re.compile(r"POST /api/migration/migrate-localstorage (\d{3}) ")
STATE_TIMEOUT_MS = 60_000


# --- the browser -------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        message = f"Chromium not found at {path} (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message)  # in CI a missing browser is a failure, never a skip
        pytest.skip(message)
    return path


# Module scope: the sync Playwright API owns an event loop on this thread while it runs; keeping it to the
# browser modules leaves the asyncio tests of other modules undisturbed.
@pytest.fixture(scope="module")
def pw(chromium_path):
    from playwright.sync_api import sync_playwright
    manager = sync_playwright()
    playwright = manager.start()
    try:
        yield playwright
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def browser(pw, chromium_path):
    b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1180, "height": 860}, device_scale_factor=1)
    ctx.set_default_timeout(STATE_TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


class Console:
    """Console errors and uncaught page errors of one page (CORS failures land here)."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.warnings: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.errors.append(f"pageerror: {err}"))

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)
        elif msg.type == "warning":
            self.warnings.append(msg.text)


@pytest.fixture
def new_page(context):
    """`new_page()` → (page, Console)."""
    def make():
        page = context.new_page()
        return page, Console(page)
    return make


def wait_state(page, state: str, *, timeout: int = STATE_TIMEOUT_MS, **attrs: str) -> None:
    """Wait until the modal publishes `data-state` (and the given data-* attributes)."""
    selector = f'#migration-modal[data-state="{state}"]' + "".join(f'[data-{k}="{v}"]' for k, v in attrs.items())
    page.wait_for_selector(selector, state="attached", timeout=timeout)


def seed_storage(page, data: dict[str, str], *, clear: bool = True) -> None:
    page.evaluate("""([entries, clear]) => {
        if (clear) localStorage.clear();
        for (const [k, v] of entries) localStorage.setItem(k, v);
    }""", [list(data.items()), clear])


def storage_snapshot(page) -> dict[str, str]:
    # Entries, not an object: a key named `__proto__` must survive the trip.
    return dict(page.evaluate("""() => {
        const out = [];
        for (let i = 0; i < localStorage.length; i++) {
            const k = localStorage.key(i);
            out.push([k, localStorage.getItem(k)]);
        }
        return out;
    }"""))


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled")
    return path


# --- client/ from a second origin -------------------------------------------------------------------------

class _StaticHandler(http_server.SimpleHTTPRequestHandler):
    extensions_map = {**http_server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
                      ".html": "text/html", ".ts": "text/plain"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="session")
def static_origin() -> Iterator[str]:
    handler = functools.partial(_StaticHandler, directory=str(CLIENT_DIR))
    server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="static-client", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- the local Functions host -----------------------------------------------------------------------------

class LocalApi:
    """The local host as a process, allowing only the static origin for CORS, plus the calls tests make."""

    def __init__(self, tmp_path: Path, origin: str):
        self.data_dir, self.log_path, self.origin = tmp_path / "data", tmp_path / "devhost.log", origin
        self.host: DevHostProcess | None = None
        self.env: dict[str, str] = {}

    def start(self, port: int | None = None, **extra: str) -> "LocalApi":
        self.env = dev_env(self.data_dir, CORS_ALLOWED_ORIGINS=self.origin, **extra)
        self.settings = settings_from({k: v for k, v in self.env.items() if k != "FAULT_INJECTION"})
        self.host = DevHostProcess(self.env, self.log_path, port=port).start()
        return self

    def stop(self) -> None:
        if self.host:
            self.host.stop()

    def restart(self, **extra: str) -> "LocalApi":
        port = self.host.port
        self.stop()
        return self.start(port=port, **extra)

    @property
    def base(self) -> str:
        return self.host.base

    def token(self, tenant: str = "contoso", user: str = "user-1", roles: list[str] | None = None) -> str:
        return token(self.settings, tenant, user, roles)

    def call(self, method: str, path: str, body: Any = None, *, tenant: str = "contoso", user: str = "user-1",
             roles: list[str] | None = None) -> tuple[int, Any, dict]:
        return http_call(method, self.base + path, body, bearer=self.token(tenant, user, roles))

    def status(self, tenant: str = "contoso", user: str = "user-1") -> dict:
        code, body, _ = self.call("GET", "/migration/status", tenant=tenant, user=user)
        assert code == 200, body
        return body

    def export(self, tenant: str = "contoso", user: str = "user-1") -> tuple[int, dict]:
        code, body, _ = self.call("GET", "/migration/export", tenant=tenant, user=user)
        return code, body

    def rollback(self, tenant: str = "contoso", active: bool = True) -> tuple[int, dict]:
        code, body, _ = self.call("POST" if active else "DELETE", f"/migration/admin/tenants/{tenant}/rollback",
                                  tenant="ops", user="ops-1", roles=[self.settings.auth_admin_role])
        return code, body

    def demo_url(self, tenant: str = "contoso", user: str = "user-1", **params: Any) -> str:
        query = {"api": self.base, "token": self.token(tenant, user), **{k: str(v) for k, v in params.items()}}
        return f"{self.origin}/demo/index.html?{urlencode(query)}"

    def migrate_codes(self) -> list[int]:
        """Status codes of every migrate request the host answered, from its request log."""
        return [int(m.group(1)) for m in MIGRATE_LINE.finditer(self.log_path.read_text(errors="replace"))]

    def database(self, tenant: str = "contoso", user: str = "user-1") -> tuple[list[dict], dict | None]:
        """The user's data documents and migration record, read straight from the store (another thread: the
        sync Playwright API keeps an event loop on this one)."""
        from migration import app_services
        from migration.domain.planner import DATA_TYPES

        async def read() -> tuple[list[dict], dict | None]:
            services = app_services.build(self.settings)
            try:
                docs = await services.ports.documents.list_partition((tenant, user), DATA_TYPES)
                records = await services.ports.documents.list_partition((tenant, user), ["migration"])
                assert len(records) <= 1, f"{len(records)} migration records for one user"
                return docs, (records[0] if records else None)
            finally:
                await services.close()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, read()).result(60)


@pytest.fixture
def local_api(tmp_path, static_origin) -> Iterator[LocalApi]:
    api = LocalApi(tmp_path, static_origin)
    try:
        yield api
    finally:
        api.stop()


# A page-side harness for migration-client.js against a scripted `fetch`: `harness(script, options)` builds a
# client whose requests take the script's steps in order ({status, body, headers} or {network: true}).
CLIENT_HARNESS = """
window.harness = async (script, options = {}) => {
  const mod = await import('/migration-client.js');
  const calls = [], delays = [], events = [];
  let reloads = 0;
  const fetch = async (url, init) => {
    calls.push({ url, method: init.method, auth: init.headers.Authorization,
                 body: init.body ? JSON.parse(init.body) : null });
    const step = script.shift();
    if (!step) throw new Error('unscripted request to ' + url);
    if (step.network) throw new TypeError('Failed to fetch');
    return new Response(step.body === undefined ? '' : JSON.stringify(step.body),
                        { status: step.status || 200, headers: step.headers || {} });
  };
  const client = mod.createMigrationClient({
    baseUrl: 'https://api.example.test/api/', getToken: async () => 'tok', fetch,
    sleep: options.realSleep ? undefined : async (ms) => { delays.push(ms); }, random: () => options.random ?? 0,
    onProgress: (e) => events.push(e.phase), reload: () => { reloads += 1; },
    retry: options.retry, locks: options.locks, exclude: options.exclude,
  });
  return { mod, client, calls, delays, events, reloads: () => reloads };
};
window.ok = (data) => ({ status: 200, body: { success: true, message: 'ok', data: {
  success: true, migratedRecords: 3, errors: [], summary: {}, migration_id: 'm1',
  manifest: { received: 3, migrated: 3, quarantined: 0, ignored: 0 }, quarantined: [], ignored: [], warnings: [],
  backup: null, duration_ms: 5, completed_at: '2026-01-02T03:04:05.000Z', ...data } } });
window.errorOf = async (promise) => promise.then(() => null, (e) => ({
  name: e.name, code: e.code, status: e.status, retryable: e.retryable, isError: e instanceof Error }));
"""


def dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
