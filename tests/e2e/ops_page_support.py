"""What the ops page's browser tests need besides their fixtures: the static origin's handler, a page that
records its errors, the seeded host's handle, and checks on screenshots."""
from __future__ import annotations

import base64
import http.server as http_server
import sqlite3
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from shared.settings import Settings

from ..helpers import DevHostProcess, http, token

ADMIN_ROLE = ["Migration.Admin"]
TIMEOUT_MS = 30_000


class Static(http_server.SimpleHTTPRequestHandler):
    extensions_map = {**http_server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".css": "text/css", ".html": "text/html"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args) -> None:
        pass


class Page:
    """A page with its console errors and uncaught exceptions."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def close(self) -> None:
        self.context.close()


@dataclass
class Seeded:
    host: DevHostProcess
    env: dict
    settings: Settings
    origin: str

    @property
    def admin(self) -> str:
        return token(self.settings, "ops", "admin-1", roles=ADMIN_ROLE)

    def get(self, path: str, bearer: str | None = None) -> dict:
        code, body, _ = http("GET", self.host.base + path, bearer=bearer or self.admin)
        assert code == 200, body
        return body

    def status(self, tenant: str, user: str) -> dict:
        return self.get("/migration/status", token(self.settings, tenant, user))

    def url(self, api: str | None = None, **extra: str) -> str:
        return f"{self.origin}/ops/index.html?" + urlencode({"api": api or self.host.base, **extra})

    def sign_in(self, page, bearer: str, api: str | None = None) -> None:
        """The operator's way in: the page, then the token pasted into its sign-in form."""
        page.goto(self.url(api))
        page.fill("#cfg-token", bearer)
        page.click("#btn-connect")

    def sql(self, statement: str, *args) -> list:
        with sqlite3.connect(Path(self.env["LOCAL_DATA_DIR"]) / "documents.sqlite3", timeout=30) as c:
            return c.execute(statement, args).fetchall()


def migrate(seeded: Seeded, tenant: str, user: str, data: dict) -> tuple[int, dict]:
    code, body, _ = http("POST", seeded.host.base + "/migration/migrate-localstorage", {"localStorage_data": data},
                         bearer=token(seeded.settings, tenant, user))
    return code, body


def check_png(path: Path) -> tuple[int, int]:
    """Parse the PNG: signature, chunk CRCs, and IDAT inflating to exactly the size its header promises."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos:pos + 4])
        kind, body = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", raw[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0
    channels = 3 if color == 2 else 4
    assert len(zlib.decompress(idat)) == height * (1 + width * channels)
    return width, height


def sample_pixels(page, path: Path) -> list[list[int]]:
    """Decode the PNG with the browser's image decoder and sample a 24×24 grid of pixels."""
    data = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    return page.evaluate("""async (src) => {
        const img = new Image();
        img.src = src;
        await img.decode();
        const c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        const out = [];
        for (let i = 0; i < 24; i++) for (let j = 0; j < 24; j++) {
            const x = Math.floor((i + 0.5) * c.width / 24), y = Math.floor((j + 0.5) * c.height / 24);
            out.push(Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)));
        }
        return out;
    }""", data)
