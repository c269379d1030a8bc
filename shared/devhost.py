"""A small local Functions host, for machines without Functions Core Tools (`func start`).

    python -m shared.devhost [--host 127.0.0.1] [--port 7071] [--app function_app]

Like `func start`: reads `local.settings.json` (else `local.settings.sample.json`) `Values` into the
environment without overriding what is set, serves the app's HTTP functions under host.json's route prefix,
answers CORS for CORS_ALLOWED_ORIGINS, runs timer functions on their NCRONTAB schedules, runs any
non-HTTP function on demand (`POST /admin/functions/<name>`, loopback only, as the real host's admin API),
and calls blob-triggered functions when a new blob lands in their container (polling, like the classic
blob trigger). One log line per request.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import logging
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.blob import InputStream
from croniter import croniter

from . import logs
from .settings import PROJECT_ROOT, get_settings, reset_settings

log = logging.getLogger("devhost")
_SETTING = re.compile(r"%([A-Za-z0-9_]+)%")


def load_local_settings(root: Path = PROJECT_ROOT) -> Path | None:
    for name in ("local.settings.json", "local.settings.sample.json"):
        path = root / name
        if path.exists():
            values = json.loads(path.read_text()).get("Values", {})
            for key, value in values.items():
                os.environ.setdefault(key, str(value))
            reset_settings()
            return path
    return None


def resolve(text: str) -> str:
    """Binding expressions `%NAME%` are app settings, as in the real host."""
    return _SETTING.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)


def _route_regex(route: str) -> re.Pattern:
    pattern = re.sub(r"\{(\w+)(?::[^}]*)?\??\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", route.strip("/"))
    return re.compile(f"^{pattern}$")


async def _invoke(fn: Any, **kwargs: Any) -> Any:
    result = fn(**kwargs)
    return await result if inspect.isawaitable(result) else result


class DevHost:
    def __init__(self, app: func.FunctionApp, route_prefix: str = "api"):
        self.prefix = route_prefix.strip("/")
        self.http: list[tuple[re.Pattern, set[str], Any, str]] = []
        self.timers: list[tuple[str, Any, str, str, bool]] = []
        self.blobs: list[tuple[str, Any, str, str]] = []
        self.others: dict[str, Any] = {}
        for f in app.get_functions():  # may be called once per app object
            trigger, name, user_fn = f.get_trigger(), f.get_function_name(), f.get_user_function()
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
        log.info("%s %s %d %.0fms", request.method, request.path, response.status,
                 (time.perf_counter() - started) * 1000)
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        path = request.path.strip("/")
        if request.method == "POST" and path.startswith("admin/functions/"):
            return await self.run_on_demand(request, path.split("/", 2)[2])
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            return web.json_response({"error": "Not found", "code": "NOT_FOUND"}, status=404, headers=cors)
        sub = path[len(self.prefix):].strip("/")
        matched = [(rx.match(sub), methods, fn) for rx, methods, fn, _ in self.http]
        matched = [(m, methods, fn) for m, methods, fn in matched if m]
        if not matched:
            return web.json_response({"error": "Not found", "code": "NOT_FOUND"}, status=404, headers=cors)
        if request.method == "OPTIONS":
            if cors:
                return web.Response(status=204, headers=cors)
            return web.json_response({"error": "Origin not allowed", "code": "CORS_ORIGIN_NOT_ALLOWED"}, status=403)
        for m, methods, fn in matched:
            if request.method in methods:
                body = await request.read()
                req = func.HttpRequest(method=request.method, url=str(request.url), headers=dict(request.headers),
                                       params=dict(request.query), route_params=m.groupdict(), body=body)
                resp: func.HttpResponse = await _invoke(fn, req=req)
                headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
                headers.update(cors)
                if resp.mimetype and "content-type" not in {k.lower() for k in headers}:
                    headers["Content-Type"] = f"{resp.mimetype}; charset={resp.charset or 'utf-8'}"
                return web.Response(body=resp.get_body(), status=resp.status_code, headers=headers)
        allowed = sorted({m for _, methods, _ in matched for m in methods} | {"OPTIONS"})
        return web.json_response({"error": "Method not allowed", "code": "METHOD_NOT_ALLOWED"}, status=405,
                                 headers={**cors, "Allow": ", ".join(allowed)})

    async def run_on_demand(self, request: web.Request, name: str) -> web.Response:
        if request.remote not in ("127.0.0.1", "::1"):
            return web.json_response({"error": "Forbidden", "code": "FORBIDDEN"}, status=403)
        if name not in self.others:
            return web.json_response({"error": "No such function", "code": "NOT_FOUND"}, status=404)
        fn, arg, kind = self.others[name]
        if kind == "timer":
            await _invoke(fn, **{arg: _TimerInfo(past_due=False)})
        else:
            await self.scan_blobs(force=True)
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
        except Exception as e:  # a failing background function must not stop the host
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
        except Exception as e:
            log.warning("blob watcher: %s", type(e).__name__)
            return
        seen = getattr(self, "_seen", set())
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
        if self.blobs:
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
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--app", default="function_app", help="module that defines `app`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    logs.install()
    source = load_local_settings()
    sys.path.insert(0, str(PROJECT_ROOT))
    app = importlib.import_module(args.app).app
    host_json = json.loads((PROJECT_ROOT / "host.json").read_text())
    prefix = host_json.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    host = DevHost(app, prefix)
    s = get_settings()
    log.info("settings from %s; stores: documents=%s secrets=%s backups=%s; auth=%s",
             source.name if source else "environment", s.document_store, s.secret_store, s.backup_store,
             s.auth_mode)
    for rx, methods, _, name in host.http:
        log.info("  %-24s %s http://%s:%d/%s/%s", name, ",".join(sorted(methods)), args.host, args.port, prefix,
                 rx.pattern.strip("^$"))
    web.run_app(host.web_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
