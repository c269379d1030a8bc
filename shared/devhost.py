"""A small local Functions host, for machines without Functions Core Tools (`func start`).

    python -m shared.devhost [--host 127.0.0.1] [--port 7071] [--app function_app] [--blob-source poll|eventgrid]

Like `func start`: reads `local.settings.json` (else `local.settings.sample.json`) `Values` into the
environment without overriding what is set, serves the app's HTTP functions under host.json's route prefix
with the real host's request rules (case-insensitive routes, a body only with `Content-Length > 0`, empty query
values dropped, the host's bare 404), answers CORS for CORS_ALLOWED_ORIGINS, runs timer functions on their
NCRONTAB schedules, runs any non-HTTP function on demand (`POST /admin/functions/<name>` with the master key in
`x-functions-key`, as the real host's admin API), and calls blob-triggered functions when a new blob lands:
by polling their container (`--blob-source poll`, the default) or, like the Event Grid source in Azure, when a
BlobCreated event is POSTed to `/runtime/webhooks/blobs?functionName=Host.Functions.<name>`
(`--blob-source eventgrid`; `python -m devtools.blob_relay` sends them). One log line per request, with control
characters escaped.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import importlib
import inspect
import json
import logging
import os
import re
import secrets
import sys
import time
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.blob import InputStream
from croniter import croniter

from devtools import eventgrid

from . import logs
from .settings import PROJECT_ROOT, get_settings, reset_settings

log = logging.getLogger("devhost")
_SETTING = re.compile(r"%([A-Za-z0-9_]+)%")


def load_local_settings(root: Path = PROJECT_ROOT) -> Path | None:
    for name in ("local.settings.json", "local.settings.sample.json"):
        path = root / name
        if path.exists():
            settings = json.loads(path.read_text())
            for key, value in settings.get("Values", {}).items():
                os.environ.setdefault(key, str(value))
            # Core Tools takes CORS and the port from "Host" (it ignores CORS_ALLOWED_ORIGINS): the same here.
            host = settings.get("Host", {})
            if host.get("CORS"):
                os.environ.setdefault("CORS_ALLOWED_ORIGINS", str(host["CORS"]))
            if host.get("LocalHttpPort"):
                os.environ.setdefault("DEVHOST_PORT", str(host["LocalHttpPort"]))
            reset_settings()
            return path
    return None


def resolve(text: str) -> str:
    """Binding expressions `%NAME%` are app settings, as in the real host."""
    return _SETTING.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)


def _route_regex(route: str) -> re.Pattern:
    def part(p: str) -> str:
        param = re.match(r"\{(\w+)", p)
        return f"(?P<{param.group(1)}>[^/]+)" if param else re.escape(p)
    pattern = "".join(part(p) for p in re.split(r"(\{\w+(?::[^}]*)?\??\})", route.strip("/")) if p)
    return re.compile(f"^{pattern}$", re.IGNORECASE)  # the real host's routes ignore case


def escape_controls(text: str) -> str:
    """Control, format and line-separator characters as escapes: a request path cannot forge a log line."""
    return "".join(c if unicodedata.category(c) not in _UNSAFE else c.encode("unicode_escape").decode("ascii")
                   for c in text)


_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def query_params(query: Any) -> dict[str, str]:
    """As the real host: parameters with an empty value are dropped."""
    return {k: v for k, v in query.items() if v != ""}


def master_key(data_dir: Path) -> str:
    """The local host's master key (`x-functions-key` on the admin API and the blob webhook): FUNCTIONS_MASTER_KEY,
    else a random key kept in <LOCAL_DATA_DIR>/devhost-master.key (0600), which local tools read."""
    if os.environ.get("FUNCTIONS_MASTER_KEY"):
        return os.environ["FUNCTIONS_MASTER_KEY"]
    path = data_dir / "devhost-master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


async def _invoke(fn: Any, **kwargs: Any) -> Any:
    result = fn(**kwargs)
    return await result if inspect.isawaitable(result) else result


class DevHost:
    def __init__(self, app: func.FunctionApp, route_prefix: str = "api", master: str = "",
                 blob_source: str = "poll"):
        self.prefix, self.master_key, self.blob_source = route_prefix.strip("/"), master, blob_source
        self.http: list[tuple[re.Pattern, set[str], Any, str]] = []
        self.timers: list[tuple[str, Any, str, str, bool]] = []
        self.blobs: list[tuple[str, Any, str, str]] = []
        self.others: dict[str, Any] = {}
        for f in app.get_functions():  # may be called once per app object
            # Any: which attributes a trigger has follows from its binding name, checked right below.
            trigger: Any = f.get_trigger()
            name, user_fn = str(f.get_function_name()), f.get_user_function()
            kind = trigger.get_binding_name()
            if kind == "httpTrigger":
                methods = {str(getattr(m, "value", m)).upper() for m in (trigger.methods or ["GET", "POST"])}
                self.http.append((_route_regex(trigger.route or name), methods, user_fn, name))
            elif kind == "timerTrigger":
                self.timers.append((name, user_fn, trigger.name, resolve(trigger.schedule),
                                    bool(trigger.run_on_startup)))
                self.others[name] = (user_fn, trigger.name, "timer")
            elif kind == "blobTrigger":
                self.blobs.append((name, user_fn, trigger.name, resolve(trigger.path)))
                self.others[name] = (user_fn, trigger.name, "blob")
        self._tasks: list[asyncio.Task] = []

    # --- HTTP ---------------------------------------------------------------------------------------

    def cors_headers(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        allowed = get_settings().cors_origins
        if not origin or not ("*" in allowed or origin in allowed):
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
                "Access-Control-Expose-Headers": "Retry-After", "Access-Control-Max-Age": "600"}

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        response = await self._dispatch(request)
        log.info("%s %s %d %.0fms", escape_controls(request.method), escape_controls(request.path),
                 response.status, (time.perf_counter() - started) * 1000)
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        path = request.path.strip("/")
        if path.lower().startswith("admin/functions/") and request.method == "POST":
            return await self.run_on_demand(request, path.split("/", 2)[2])
        if path.lower() == "runtime/webhooks/blobs":
            return await self.blob_webhook(request)
        if not (path.lower() == self.prefix.lower() or path.lower().startswith(self.prefix.lower() + "/")):
            return web.Response(status=404)  # the host's own 404: no body
        sub = path[len(self.prefix):].strip("/")
        matched = [(m, methods, fn) for rx, methods, fn, _ in self.http if (m := rx.match(sub))]
        if not matched:
            return web.Response(status=404)
        if request.method == "OPTIONS":
            if cors:
                return web.Response(status=204, headers=cors)
            return web.json_response({"error": "Origin not allowed", "code": "CORS_ORIGIN_NOT_ALLOWED"}, status=403)
        for m, methods, fn in matched:
            if request.method in methods:
                # The real host forwards a body only when Content-Length > 0; the function refuses the rest (411).
                body = await request.read() if (request.content_length or 0) > 0 else b""
                req = func.HttpRequest(method=request.method, url=str(request.url), headers=dict(request.headers),
                                       params=query_params(request.query), route_params=m.groupdict(), body=body)
                resp: func.HttpResponse = await _invoke(fn, req=req)
                headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
                headers.update(cors)
                if resp.mimetype and "content-type" not in {k.lower() for k in headers}:
                    headers["Content-Type"] = f"{resp.mimetype}; charset={resp.charset or 'utf-8'}"
                return web.Response(body=resp.get_body(), status=resp.status_code, headers=headers)
        allowed = sorted({m for _, methods, _ in matched for m in methods} | {"OPTIONS"})
        return web.json_response({"error": "Method not allowed", "code": "METHOD_NOT_ALLOWED"}, status=405,
                                 headers={**cors, "Allow": ", ".join(allowed)})

    def admin_refusal(self, request: web.Request) -> web.Response | None:
        """The admin API and webhooks: loopback only, never from a browser page, and only with the master key."""
        if request.remote not in ("127.0.0.1", "::1"):
            return web.json_response({"error": "Forbidden", "code": "FORBIDDEN"}, status=403)
        if request.headers.get("Origin") or request.headers.get("Sec-Fetch-Site", "none") not in ("none",):
            return web.json_response({"error": "Cross-origin requests are refused", "code": "CROSS_ORIGIN"},
                                     status=403)
        given = request.headers.get("x-functions-key") or request.query.get("code") or ""
        if not hmac.compare_digest(given.encode(), self.master_key.encode()):
            return web.json_response({"error": "The master key is required in x-functions-key",
                                      "code": "UNAUTHORIZED"}, status=401)
        return None

    async def run_on_demand(self, request: web.Request, name: str) -> web.Response:
        if (refusal := self.admin_refusal(request)) is not None:
            return refusal
        if name not in self.others:
            return web.json_response({"error": "No such function", "code": "NOT_FOUND"}, status=404)
        fn, arg, kind = self.others[name]
        if kind == "timer":
            await _invoke(fn, **{arg: _TimerInfo(past_due=False)})
        else:
            await self.scan_blobs(force=True)
        return web.Response(status=202)

    async def blob_webhook(self, request: web.Request) -> web.Response:
        """The blob extension's Event Grid endpoint: the validation handshake, then BlobCreated events."""
        if request.method != "POST":
            return web.Response(status=404)
        if (refusal := self.admin_refusal(request)) is not None:
            return refusal
        name = request.query.get("functionName", "").removeprefix("Host.Functions.")
        targets = [b for b in self.blobs if b[0] == name]
        if not targets:
            return web.json_response({"error": "No such blob function", "code": "NOT_FOUND"}, status=404)
        try:
            events = eventgrid.parse_events(await request.read())
        except eventgrid.BadEvent as e:
            return web.json_response({"error": str(e), "code": "INVALID_EVENT"}, status=400)
        if request.headers.get("aeg-event-type") == "SubscriptionValidation":
            code = eventgrid.validation_code(events)
            if code is None:
                return web.json_response({"error": "No validation code", "code": "INVALID_EVENT"}, status=400)
            return web.json_response({"validationResponse": code})
        _, fn, arg, path = targets[0]
        container = path.split("/", 1)[0]
        for blob_name in eventgrid.created_blobs(events, container):
            try:
                data = await self._backups().read(blob_name)
            except ValueError:  # a name the store refuses (e.g. `../`): no such blob for this trigger
                data = None
            if data is not None:
                await self._safe(name, fn, {arg: InputStream(data=data, name=f"{container}/{blob_name}",
                                                             length=len(data))})
        return web.Response(status=202)

    # --- timers ---------------------------------------------------------------------------------------

    async def run_timer(self, name: str, fn: Any, arg: str, schedule: str, on_startup: bool) -> None:
        itr = croniter(schedule, datetime.now(timezone.utc), second_at_beginning=True)
        if on_startup:
            await self._safe(name, fn, {arg: _TimerInfo(past_due=False)})
        while True:
            nxt = itr.get_next(float)
            await asyncio.sleep(max(0.0, nxt - time.time()))
            await self._safe(name, fn, {arg: _TimerInfo(past_due=time.time() - nxt > 1)})

    async def _safe(self, name: str, fn: Any, kwargs: dict) -> None:
        started = time.perf_counter()
        try:
            await _invoke(fn, **kwargs)
            log.info("function %s ran %.0fms", name, (time.perf_counter() - started) * 1000)
        except Exception as e:  # noqa: BLE001 - a failing background function must not stop the host
            log.error("function %s failed: %s", name, type(e).__name__)

    # --- blobs ------------------------------------------------------------------------------------------

    async def watch_blobs(self, interval: float = 0.5) -> None:
        self._seen = set(await self._backups().list())  # like blob receipts: only new blobs trigger
        while True:
            await asyncio.sleep(interval)
            await self.scan_blobs()

    def _backups(self) -> Any:
        if getattr(self, "_backup_store", None) is None:
            from .composition import build_ports
            self._backup_store = build_ports(get_settings()).backups
        return self._backup_store

    async def scan_blobs(self, force: bool = False) -> None:
        try:
            names = await self._backups().list()
        except Exception as e:  # noqa: BLE001 - the watcher polls again on its next tick
            log.warning("blob watcher: %s", type(e).__name__)
            return
        seen: set[str] = getattr(self, "_seen", set())
        for blob_name in names:
            if blob_name in seen and not force:
                continue
            seen.add(blob_name)
            data = await self._backups().read(blob_name)
            if data is None:
                continue
            for name, fn, arg, path in self.blobs:
                container = path.split("/", 1)[0]
                stream = InputStream(data=data, name=f"{container}/{blob_name}", length=len(data))
                await self._safe(name, fn, {arg: stream})
        self._seen = seen

    # --- lifecycle --------------------------------------------------------------------------------------

    async def start_background(self) -> None:
        for name, fn, arg, schedule, on_startup in self.timers:
            self._tasks.append(asyncio.create_task(self.run_timer(name, fn, arg, schedule, on_startup)))
        if self.blobs and self.blob_source == "poll":
            self._tasks.append(asyncio.create_task(self.watch_blobs()))

    async def stop_background(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def web_app(self) -> web.Application:
        max_size = get_settings().max_body_bytes + 1024  # the function itself answers 413 with its envelope
        app = web.Application(client_max_size=max_size)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.dispatch)  # any path, newlines included

        async def on_startup(_: web.Application) -> None:
            await self.start_background()

        async def on_cleanup(_: web.Application) -> None:
            await self.stop_background()
        app.on_startup.append(on_startup)
        app.on_cleanup.append(on_cleanup)
        return app


class _TimerInfo:
    def __init__(self, past_due: bool):
        self.past_due = past_due


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: Host.LocalHttpPort, else 7071")
    parser.add_argument("--app", default="function_app", help="module that defines `app`")
    parser.add_argument("--blob-source", choices=["poll", "eventgrid"], default=os.environ.get(
        "DEVHOST_BLOB_SOURCE", "poll"), help="poll the container, or wait for Event Grid events on the webhook")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    logs.install()
    source = load_local_settings()
    args.port = args.port or int(os.environ.get("DEVHOST_PORT", "7071"))
    sys.path.insert(0, str(PROJECT_ROOT))
    app = importlib.import_module(args.app).app
    host_json = json.loads((PROJECT_ROOT / "host.json").read_text())
    prefix = host_json.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    s = get_settings()
    host = DevHost(app, prefix, master_key(Path(s.local_data_dir)), args.blob_source)
    log.info("settings from %s; stores: documents=%s secrets=%s backups=%s; auth=%s",
             source.name if source else "environment", s.document_store, s.secret_store, s.backup_store,
             s.auth_mode)
    for rx, methods, _, name in host.http:
        log.info("  %-24s %s http://%s:%d/%s/%s", name, ",".join(sorted(methods)), args.host, args.port, prefix,
                 rx.pattern.strip("^$"))
    web.run_app(host.web_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
