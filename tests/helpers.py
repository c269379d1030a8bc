"""Test helpers shared by the layers: fixtures, settings, tokens, calling functions, the local host."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import azure.functions as func

from localstorage_fixtures import load_fixture as load_fixture  # re-exported: the tests' API
from migration.entrypoints import api_models, http_status, routes
from shared.auth import mint_dev_token
from shared.settings import PROJECT_ROOT, Settings

DEV_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
ISSUER = "https://dev.local/{tid}/v2.0"
AUDIENCE = "api://agent-platform-migration"


def dev_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {"DOCUMENT_STORE": "embedded", "SECRET_STORE": "local", "BACKUP_STORE": "local",
           "LOCAL_DATA_DIR": str(data_dir), "AUTH_MODE": "dev", "AUTH_DEV_SECRET": DEV_SECRET,
           "AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": AUDIENCE, "CORS_ALLOWED_ORIGINS": "*",
           "MIGRATION_ROLLOUT_TENANTS": "*", "AUTH_ADMIN_TENANTS": "ops,ops-tenant"}
    env.update(extra)
    return env


def settings_from(env: dict[str, str]) -> Settings:
    return Settings(**env)


def token(settings: Settings, tenant: str = "contoso", user: str = "user-1", roles: list[str] | None = None,
          ttl: int = 3600) -> str:
    return mint_dev_token(settings, tenant, user, roles=roles, ttl=ttl)


def json_equal_or_same(original: str, exported: str) -> bool:
    """The zero-loss promise for one key: same string, or JSON that parses deep-equal."""
    if original == exported:
        return True
    try:
        return json.loads(original) == json.loads(exported)
    except ValueError:
        return False


# --- calling the registered functions directly --------------------------------------------------------

@functools.lru_cache(maxsize=1)
def registered() -> dict[str, tuple[Any, Any]]:
    import function_app
    return {f.get_function_name(): (f.get_user_function(), f.get_trigger()) for f in function_app.app.get_functions()}


async def call(name: str, method: str = "GET", body: Any = None, *, bearer: str | None = None,
               headers: dict[str, str] | None = None, raw: bytes | None = None,
               route_params: dict[str, str] | None = None) -> tuple[int, Any, dict]:
    fn, trigger = registered()[name]
    hdrs = {"content-type": "application/json", **(headers or {})}
    if bearer:
        hdrs["authorization"] = f"Bearer {bearer}"
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    req = func.HttpRequest(method=method, url=f"http://localhost/api/{trigger.route}", headers=hdrs,
                           params={}, route_params=route_params or {}, body=data)
    resp = await fn(req)
    payload = resp.get_body()
    check_contract(name, resp.status_code, payload)
    return resp.status_code, (json.loads(payload) if payload else None), dict(resp.headers)


def check_contract(name: str, status: int, payload: bytes) -> None:
    """Every answer of a route fits its declaration in migration/entrypoints/routes.py: a success body its
    response model (unknown fields refused), an error body the envelope with that code's fields only, a code the
    route declares and that code's status."""
    route = routes.BY_NAME[name]
    body = json.loads(payload)  # not pydantic's parser: it refuses lone surrogates, valid localStorage data
    if status in route.response_statuses:
        route.response.model_validate(body, strict=True)
        return
    error = api_models.ErrorBody.model_validate(body, strict=True)
    api_models.error_body_model(error.code).model_validate(body, strict=True)  # that code's fields, no others
    assert error.code in route.error_codes(), f"{name} answered {error.code}, which its route does not declare"
    assert status == http_status.status_for(error.code), f"{name} answered {error.code} with {status}"


# --- the local host as a real process -----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevHostProcess:
    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None):
        self.env, self.log_path, self.port = env, log_path, port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = 30) -> "DevHostProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COSMOS", "BACKUP_", "KEY_VAULT"))}
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.devhost", "--port", str(self.port)],
                                     cwd=PROJECT_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"local host exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"local host did not become ready:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def wait_exit(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def __enter__(self) -> "DevHostProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def devhost(env: dict[str, str], log_path: Path) -> Iterator[DevHostProcess]:
    host = DevHostProcess(env, log_path).start()
    try:
        yield host
    finally:
        host.stop()


def route_named(method: str, url: str) -> str | None:
    """The route a request to the local host reaches (the host matches paths ignoring case), if any."""
    path = urllib.parse.urlsplit(url).path.partition("/api/")[2]
    for route in routes.ROUTES:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route.path))
        if method.upper() in route.methods and re.fullmatch(pattern, path, re.IGNORECASE):
            return route.name
    return None


def http(method: str, url: str, body: Any = None, bearer: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, Any, dict]:
    status, raw, hdrs = _http(method, url, body, bearer, headers, timeout)
    name = route_named(method, url)
    if name and raw:  # the host's own answers (unknown route, wrong method) are no route's
        check_contract(name, status, raw)
    return status, (json.loads(raw) if raw else None), hdrs


def _http(method: str, url: str, body: Any, bearer: str | None, headers: dict[str, str] | None,
          timeout: float) -> tuple[int, bytes, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
