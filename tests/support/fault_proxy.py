"""An HTTP(S) reverse proxy that injects transport faults in front of an emulator (Cosmos stand-in, Azurite).

The adapters are built from settings exactly as in production; only the endpoint in the connection string
points at the proxy. Faults are armed per test: `proxy.faults.inject("503", count=2, match=...)`;
`proxy.response_headers` adds headers to every answer (the request charge Cosmos reports).
"""
from __future__ import annotations

from aiohttp import ClientSession, TCPConnector, web

from tests.support.threaded_app import FaultPlan, ThreadedApp
from tests.support.tls import self_signed_context

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}


class FaultProxy:
    def __init__(self, upstream_port: int, *, tls: bool):
        self.upstream = f"{'https' if tls else 'http'}://127.0.0.1:{upstream_port}"
        self._upstream_hostport = f"127.0.0.1:{upstream_port}".encode()
        self.faults = FaultPlan()
        self.requests: list[tuple[str, str, int]] = []  # (method, path, upstream status) actually forwarded
        # Headers set on every answer, e.g. the `x-ms-request-charge` Cosmos sends and the stand-in does not.
        self.response_headers: dict[str, str] = {}
        self._session: ClientSession | None = None
        self._app = ThreadedApp(self._make_app, ssl_context=self_signed_context() if tls else None,
                                name="fault-proxy")

    @property
    def port(self) -> int:
        return self._app.port

    def start(self) -> "FaultProxy":
        self._app.start()
        return self

    def stop(self) -> None:
        self._app.stop()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.faults.middleware()], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)

        async def open_session(_app):
            # ssl=False: the upstream emulators use self-signed certificates.
            self._session = ClientSession(connector=TCPConnector(ssl=False), auto_decompress=False)

        async def close_session(_app):
            await self._session.close()

        app.on_startup.append(open_session)
        app.on_cleanup.append(close_session)
        return app

    async def _forward(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = await request.read()
        # Forward the request as signed: no headers of aiohttp's own (Storage's SharedKey signs Content-Type).
        async with self._session.request(request.method, self.upstream + request.rel_url.raw_path_qs,
                                          headers=headers, data=body or None, allow_redirects=False,
                                          skip_auto_headers=("Content-Type", "Accept", "Accept-Encoding",
                                                             "User-Agent")) as up:
            body = await up.read()
            out = {k: v for k, v in up.headers.items() if k.lower() not in _HOP}
            if "Content-Type" not in up.headers:
                out["Content-Type"] = ""  # aiohttp would add one of its own otherwise
        self.requests.append((request.method, request.path, up.status))
        # The Cosmos stand-in advertises its own address in the account document (and content-location):
        # point those at the proxy, or the SDK's endpoint discovery would route around the faults.
        mine = f"127.0.0.1:{self.port}".encode()
        body = body.replace(self._upstream_hostport, mine)
        out = {k: v.replace(self._upstream_hostport.decode(), mine.decode()) for k, v in out.items()}
        for name, value in self.response_headers.items():
            out = {k: v for k, v in out.items() if k.lower() != name.lower()} | {name: value}
        return web.Response(status=up.status, headers=out, body=body)
