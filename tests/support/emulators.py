"""Start the local stand-ins of the three Azure services, for contract tests, benchmarks and developers.

- Cosmos DB: `@vercel/cosmosdb-server` (npm, HTTPS with its own self-signed cert, keep-alive on).
- Blob Storage: Azurite (npm, `azurite-blob`, in memory).
- Key Vault: `tests.support.keyvault_server` (in this process, HTTPS with a fresh self-signed cert).

Plain context managers (`cosmos_server()`, `azurite_server()`, `keyvault_server()`, `all_emulators()`) need no
pytest. As a pytest plugin (`pytest_plugins = ["tests.support.emulators"]`) it offers the session fixtures
`emulators` (the running servers) and `emulator_env` (environment names → values for `shared.settings.Settings`),
and loads `tests.support.azure_adapters` (per-test fixtures azure_documents / azure_backups / azure_secrets).
A missing node/node_modules or a server that does not come up FAILS the tests: in CI a missing emulator is a bug.

Developers: `python -m tests.support.emulators` starts all three, prints `export ...` lines, waits for Ctrl-C.
"""
from __future__ import annotations

import contextlib
import http.client
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.support.keyvault_server import KeyVaultStandIn

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"

# Well-known, published emulator credentials (not secrets): the Cosmos DB emulator key and Azurite's account.
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

START_TIMEOUT = 30.0


class EmulatorUnavailable(RuntimeError):
    """node, node_modules or a server is missing or did not start. The message says what to run."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cosmos_connection_string(port: int) -> str:
    return f"AccountEndpoint=https://127.0.0.1:{port}/;AccountKey={COSMOS_EMULATOR_KEY};"


def blob_connection_string(port: int) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")


@dataclass
class NodeServer:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        # Only the process this module started, by its own handle.
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux)
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the context managers still stop the child
        pass


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise EmulatorUnavailable(f"{what} not found at {path}: run `npm ci` in {REPO_ROOT}")


def _node() -> str:
    node = shutil.which("node")
    if not node:
        raise EmulatorUnavailable("`node` is not on PATH: install Node.js 20+ and run `npm ci`")
    return node


def _ready(port: int, tls: bool, path: str) -> bool:
    """Any HTTP answer means the server is up (auth errors included)."""
    try:
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # the stand-ins' self-signed certs
            conn: http.client.HTTPConnection = http.client.HTTPSConnection("127.0.0.1", port, timeout=2,
                                                                           context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        conn.getresponse().read()
        conn.close()
        return True
    except (OSError, http.client.HTTPException):
        return False


def _start_node(name: str, argv_for_port, *, tls: bool, probe_path: str, log_dir: Path) -> NodeServer:
    last = ""
    for _attempt in range(3):  # a free port can be taken between probing and binding: try another
        port = free_port()
        log_path = log_dir / f"{name}-{port}.log"
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(argv_for_port(port), cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        finally:
            log.close()
        server = NodeServer(name, port, proc, log_path)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if _ready(port, tls, probe_path):
                return server
            time.sleep(0.1)
        last = server.log_tail()
        server.stop()
        if "EADDRINUSE" not in last:
            break
    raise EmulatorUnavailable(f"{name} did not start within {START_TIMEOUT:.0f}s; its output:\n{last}")


@contextlib.contextmanager
def _log_dir(log_dir: Path | None) -> Iterator[Path]:
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        yield log_dir
    else:
        with tempfile.TemporaryDirectory(prefix="emulators-") as tmp:
            yield Path(tmp)


@contextlib.contextmanager
def cosmos_server(log_dir: Path | None = None) -> Iterator[NodeServer]:
    """`@vercel/cosmosdb-server` over HTTPS on 127.0.0.1 (keep-alive on), through `cosmos_standin.js`."""
    _require(NODE_MODULES / "@vercel" / "cosmosdb-server", "@vercel/cosmosdb-server")
    node = _node()
    script = Path(__file__).with_name("cosmos_standin.js")  # the stand-in, two deviations corrected
    with _log_dir(log_dir) as logs:
        server = _start_node("cosmosdb-server", lambda port: [node, str(script), str(port)], tls=True,
                             probe_path="/", log_dir=logs)
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def azurite_server(log_dir: Path | None = None) -> Iterator[NodeServer]:
    """Azurite's blob service on 127.0.0.1, in memory (nothing written to disk)."""
    script = NODE_MODULES / ".bin" / "azurite-blob"
    _require(script, "azurite-blob")
    node = _node()
    with _log_dir(log_dir) as logs:
        server = _start_node(
            "azurite-blob",
            lambda port: [node, str(script.resolve()), "--blobHost", "127.0.0.1", "--blobPort", str(port),
                          "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry"],
            tls=False, probe_path=f"/{AZURITE_ACCOUNT}?comp=list", log_dir=logs)
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def keyvault_server() -> Iterator[KeyVaultStandIn]:
    with KeyVaultStandIn() as kv:
        yield kv


@dataclass
class Emulators:
    cosmos: NodeServer
    azurite: NodeServer
    keyvault: KeyVaultStandIn
    database: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")

    def env(self) -> dict[str, str]:
        """Environment for `shared.settings.Settings`: every port served by its emulator."""
        return {
            "DOCUMENT_STORE": "cosmos",
            "COSMOS": cosmos_connection_string(self.cosmos.port),
            "COSMOS_VERIFY_TLS": "false",
            "COSMOS_DATABASE": self.database,
            "BACKUP_STORE": "blob",
            "BACKUP_STORAGE": blob_connection_string(self.azurite.port),
            "SECRET_STORE": "keyvault",
            "KEY_VAULT__vaultUri": self.keyvault.url,
            "KEY_VAULT_VERIFY_TLS": "false",
        }


@contextlib.contextmanager
def all_emulators(log_dir: Path | None = None) -> Iterator[Emulators]:
    with cosmos_server(log_dir) as cosmos, azurite_server(log_dir) as azurite, keyvault_server() as kv:
        yield Emulators(cosmos, azurite, kv)


# ---- pytest plugin ---------------------------------------------------------------------------------
try:
    import pytest
except ImportError:  # the dev command and benchmarks work without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    pytest_plugins = ["tests.support.azure_adapters"]  # adapter fixtures on top of the running emulators

    @pytest.fixture(scope="session")
    def emulators() -> Iterator[Emulators]:
        stack = contextlib.ExitStack()
        try:
            running = stack.enter_context(all_emulators())
        except EmulatorUnavailable as e:
            stack.close()
            pytest.fail(f"emulators unavailable (contract tests need them, never skipped): {e}", pytrace=False)
        with stack:
            yield running

    @pytest.fixture(scope="session")
    def emulator_env(emulators: Emulators) -> dict[str, str]:
        return emulators.env()


# ---- developer command -----------------------------------------------------------------------------
def main() -> int:
    # SIGTERM (e.g. `timeout`, a CI runner) → the same clean stop as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with all_emulators() as running:
            for name, value in running.env().items():
                print(f"export {name}={shlex.quote(value)}")
            print("# emulators running; Ctrl-C stops them", file=sys.stderr, flush=True)
            sys.stdout.flush()
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
    except EmulatorUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
