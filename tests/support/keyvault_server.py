"""A protocol-level Key Vault stand-in (secrets only) over TLS, for the Key Vault adapter's contract tests.

No Key Vault emulator exists on PyPI/npm/Debian, so this speaks just enough of the REST protocol for
`azure.keyvault.secrets.aio.SecretClient`: the bearer challenge, versioned secrets, soft delete + recover,
Key Vault's name rule and error shapes. Any bearer token is accepted. It counts versions per name (so tests can
prove "no new version when unchanged") and can inject transport faults (`server.faults.inject(...)`).

    with KeyVaultStandIn() as kv:  # kv.url == "https://127.0.0.1:<port>/"
        ...
"""
from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.threaded_app import FaultPlan, ThreadedApp, json_error
from tests.support.tls import self_signed_context

NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
CHALLENGE = ('Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", '
             'resource="https://vault.azure.net"')


@dataclass
class _Version:
    version: str
    value: str
    tags: dict | None
    content_type: str | None
    created: int = field(default_factory=lambda: int(time.time()))


class KeyVaultStandIn:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, list[_Version]] = {}
        self._deleted: dict[str, tuple[list[_Version], int]] = {}
        self.faults = FaultPlan()
        self._app = ThreadedApp(self._make_app, ssl_context=self_signed_context(), name="keyvault-stand-in")

    # ---- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._app.url

    @property
    def port(self) -> int:
        return self._app.port

    def start(self) -> "KeyVaultStandIn":
        self._app.start()
        return self

    def stop(self) -> None:
        self._app.stop()

    def __enter__(self) -> "KeyVaultStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- what tests inspect ---------------------------------------------------------------------
    def versions(self, name: str) -> int:
        """How many versions `name` has (live or soft-deleted); 0 if it never existed."""
        with self._lock:
            if name in self._secrets:
                return len(self._secrets[name])
            return len(self._deleted.get(name, ([], 0))[0])

    def is_deleted(self, name: str) -> bool:
        with self._lock:
            return name in self._deleted

    def soft_delete(self, name: str) -> None:
        with self._lock:
            self._deleted[name] = (self._secrets.pop(name), int(time.time()))

    # ---- HTTP ---------------------------------------------------------------------------------
    def _make_app(self) -> web.Application:
        # Auth outermost: the SDK's body-less challenge request never consumes an injected fault.
        app = web.Application(middlewares=[self._auth, self.faults.middleware()])
        app.router.add_put("/secrets/{name}", self._set)
        app.router.add_get("/secrets/{name}", self._get)
        app.router.add_get("/secrets/{name}/", self._get)
        app.router.add_get("/secrets/{name}/{version}", self._get)
        app.router.add_delete("/secrets/{name}", self._delete)
        app.router.add_get("/deletedsecrets/{name}", self._get_deleted)
        app.router.add_post("/deletedsecrets/{name}/recover", self._recover)
        app.router.add_delete("/deletedsecrets/{name}", self._purge)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            await request.read()
            return web.json_response({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing "
                                                "a Bearer or PoP token."}},
                                     status=401, headers={"WWW-Authenticate": CHALLENGE})
        return await handler(request)

    @staticmethod
    def _name(request: web.Request) -> str:
        name = request.match_info["name"]
        if not NAME_RE.match(name):
            raise _HttpError(json_error(400, "BadParameter", "The request URI contains an invalid name"))
        return name

    @staticmethod
    def _bundle(request: web.Request, name: str, v: _Version) -> dict:
        base = f"https://{request.host}"
        return {"value": v.value, "id": f"{base}/secrets/{name}/{v.version}", "contentType": v.content_type,
                "tags": v.tags, "attributes": {"enabled": True, "created": v.created, "updated": v.created,
                                               "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}}

    def _deleted_bundle(self, request: web.Request, name: str, versions: list[_Version], when: int) -> dict:
        body = self._bundle(request, name, versions[-1])
        body.pop("value")
        body.update(recoveryId=f"https://{request.host}/deletedsecrets/{name}", deletedDate=when,
                    scheduledPurgeDate=when + 90 * 86400)
        return body

    async def _set(self, request: web.Request) -> web.Response:
        try:
            name = self._name(request)
            body = await request.json()
        except _HttpError as e:
            return e.response
        except ValueError:
            return json_error(400, "BadParameter", "The request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return json_error(400, "BadParameter", "Property 'value' is required")
        with self._lock:
            if name in self._deleted:
                return json_error(409, "Conflict", f"Secret {name} is currently in a deleted but recoverable "
                                  "state, and its name cannot be reused; in this state, the secret can only be "
                                  "recovered or purged.", inner="ObjectIsDeletedButRecoverable")
            v = _Version(uuid.uuid4().hex, body["value"], body.get("tags"), body.get("contentType"))
            self._secrets.setdefault(name, []).append(v)
        return web.json_response(self._bundle(request, name, v))

    async def _get(self, request: web.Request) -> web.Response:
        try:
            name = self._name(request)
        except _HttpError as e:
            return e.response
        version = request.match_info.get("version") or ""
        with self._lock:
            versions = self._secrets.get(name, [])
            found = [v for v in versions if v.version == version] if version else versions[-1:]
        if not found:
            return json_error(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this "
                              "key vault.")
        return web.json_response(self._bundle(request, name, found[0]))

    async def _delete(self, request: web.Request) -> web.Response:
        try:
            name = self._name(request)
        except _HttpError as e:
            return e.response
        with self._lock:
            if name not in self._secrets:
                return json_error(404, "SecretNotFound", f"A secret with (name/id) {name} was not found.")
            versions, when = self._secrets.pop(name), int(time.time())
            self._deleted[name] = (versions, when)
        return web.json_response(self._deleted_bundle(request, name, versions, when))

    async def _get_deleted(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self._lock:
            entry = self._deleted.get(name)
        if entry is None:
            return json_error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return web.json_response(self._deleted_bundle(request, name, *entry))

    async def _recover(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self._lock:
            entry = self._deleted.pop(name, None)
            if entry is None:
                return json_error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
            self._secrets[name] = entry[0]
        return web.json_response(self._bundle(request, name, entry[0][-1]))

    async def _purge(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self._lock:
            if self._deleted.pop(name, None) is None:
                return json_error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return web.Response(status=204)


class _HttpError(Exception):
    def __init__(self, response: web.Response):
        self.response = response


if __name__ == "__main__":  # a quick manual run: python -m tests.support.keyvault_server
    with KeyVaultStandIn() as kv:
        print(f"Key Vault stand-in at {kv.url} (Ctrl-C stops)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
