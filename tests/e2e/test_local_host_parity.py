"""The local host behaves as the real Functions host: routes ignore case, a body only with Content-Length (a
chunked one gets 411), empty query values dropped, bare 404s. tests/support/echo_app.py shows what a function is
handed."""
from __future__ import annotations

import json
import time

import pytest

from tests.e2e import local_host_support
from tests.e2e.local_host_support import bearer, raw
from tests.helpers import DevHostProcess, dev_env, http

pytestmark = pytest.mark.e2e

# the support module's fixtures (a host per test), named here so pytest finds them
env, host = local_host_support.env, local_host_support.host


class EchoHost(DevHostProcess):
    """The local host serving tests/support/echo_app.py, which answers with what its function was handed."""

    def start(self, timeout: float = 30) -> "EchoHost":
        import os
        import subprocess
        import sys
        import urllib.request

        from shared.settings import PROJECT_ROOT
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.devhost", "--port", str(self.port), "--app",
                                      "tests.support.echo_app"], cwd=PROJECT_ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(self.log_path.read_text()[-2000:])


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("echo")
    with EchoHost(dev_env(tmp / "data"), tmp / "echo.log").start() as h:
        yield h


@pytest.fixture(scope="module")
def shared_host(tmp_path_factory):
    """One host for the read-only checks (each test here changes nothing)."""
    tmp = tmp_path_factory.mktemp("shared")
    env = dev_env(tmp / "data")
    with DevHostProcess(env, tmp / "host.log").start() as h:
        h.env = env
        yield h


@pytest.mark.parametrize("path", ["/api/Echo/a", "/api/echo/a", "/API/ECHO/a", "/Api/eChO/a"])
def test_routes_ignore_case_as_the_real_host(echo, path):
    status, body = raw(echo, "GET", path)
    assert status == 200 and json.loads(body)["route"] == {"name": "a"}


@pytest.mark.parametrize("path", ["/api/HEALTH", "/API/health", "/api/Migration/Status"])
def test_app_routes_ignore_case(shared_host, path):
    status, _ = raw(shared_host, "GET", path, headers={"Authorization": f"Bearer {bearer(shared_host.env)}"})
    assert status == 200


@pytest.mark.parametrize("query,params", [("?a=1&b=", {"a": "1"}), ("?a=&b=", {}), ("?a", {}),
                                          ("?x=%20", {"x": " "}), ("", {})])
def test_empty_query_values_are_dropped_as_the_real_host(echo, query, params):
    status, body = raw(echo, "GET", "/api/echo/a" + query)
    assert status == 200 and json.loads(body)["params"] == params


@pytest.mark.parametrize("headers,chunked,seen", [
    ({"Content-Length": "5"}, False, "hello"),   # sized: forwarded
    ({}, True, ""),                              # chunked: the real host forwards no body
])
def test_body_forwarded_only_with_a_length(echo, headers, chunked, seen):
    status, body = raw(echo, "POST", "/api/echo/a", body=b"hello", headers=headers, chunked=chunked)
    assert status == 200 and json.loads(body)["body"] == seen


@pytest.mark.parametrize("route", ["/api/migration/migrate-localstorage", "/api/migration/preview"])
def test_chunked_body_gets_411_and_changes_nothing(host, env, route):
    body = json.dumps({"localStorage_data": {"theme": "dark"}}).encode()
    status, answer = raw(host, "POST", route, body=body, chunked=True, headers={
        "Authorization": f"Bearer {bearer(env)}", "Content-Type": "application/json"})
    assert (status, json.loads(answer)["code"]) == (411, "LENGTH_REQUIRED")
    code, st, _ = http("GET", host.base + "/migration/status", bearer=bearer(env))
    assert st["migration_status"] == "not_started"


@pytest.mark.parametrize("path", ["/api/nope", "/api/migration/statu", "/nope", "/api", "/apix/health",
                                  "/runtime/webhooks/other"])
def test_unknown_routes_get_the_hosts_bare_404(shared_host, path):
    assert raw(shared_host, "GET", path) == (404, b"")
