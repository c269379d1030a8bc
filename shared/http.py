"""HTTP helpers: the error envelope, JSON responses, strict request-body parsing."""
from __future__ import annotations

import json
from typing import Any, Mapping

import azure.functions as func

from .json_depth import deeper_than
from .strict_json import DuplicateKey, unique_pairs

JSON_TYPE = "application/json"


class HttpError(Exception):
    """A 4xx/5xx with the envelope {"error", "code", ...}. The message is fixed text, never user data."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None,
                 **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra

    def response(self) -> func.HttpResponse:
        return json_response({"error": self.message, "code": self.code, **self.extra}, self.status, self.headers)


def dumps(body: Any) -> str:
    # ASCII escapes keep lone UTF-16 surrogates (valid localStorage data) intact on the wire.
    return json.dumps(body, ensure_ascii=True, separators=(",", ":"))


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    hdrs = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}
    return func.HttpResponse(dumps(body), status_code=status, mimetype=JSON_TYPE, charset="utf-8", headers=hdrs)


class _NonFinite(Exception):
    pass


def _no_constants(name: str) -> Any:
    raise _NonFinite()


def require_length(headers: Mapping[str, str], body: bytes) -> None:
    """The Functions host forwards a body only when Content-Length > 0: a chunked (or unsized) body reaches the
    function empty. Refuse it from the headers, so no host silently turns a sent body into an empty one."""
    length = headers.get("content-length")
    if headers.get("transfer-encoding") and length is None:
        raise HttpError(411, "LENGTH_REQUIRED", "Send the body with a Content-Length header (no chunked encoding)")
    if length is None and not body:
        raise HttpError(411, "LENGTH_REQUIRED", "Send the body with a Content-Length header")


def parse_json_body(req: func.HttpRequest, *, max_bytes: int, max_depth: int) -> Any:
    """Strict JSON: length, size, media type, UTF-8, syntax, duplicate keys, NaN/Infinity, nesting depth."""
    body = req.get_body() or b""
    require_length(req.headers, body)
    if len(body) > max_bytes:
        raise HttpError(413, "PAYLOAD_TOO_LARGE", "Request body exceeds the size limit", limit_bytes=max_bytes)
    ctype = (req.headers.get("content-type") or "").lower()
    media, _, params = ctype.partition(";")
    if media.strip() != JSON_TYPE:
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
    charset = params.strip().removeprefix("charset=").strip('"') if "charset=" in params else "utf-8"
    if charset not in ("utf-8", "utf8"):
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "Request bodies must be UTF-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "INVALID_ENCODING", "Request body is not valid UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=unique_pairs, parse_constant=_no_constants)
    except DuplicateKey:
        raise HttpError(400, "DUPLICATE_KEY", "Request body has a duplicate object key") from None
    except _NonFinite:
        raise HttpError(400, "NON_FINITE_NUMBER", "NaN and Infinity are not JSON") from None
    except RecursionError:
        raise HttpError(400, "JSON_TOO_DEEP", "Request body nests too deeply", limit=max_depth) from None
    except ValueError:
        raise HttpError(400, "INVALID_JSON", "Request body is not valid JSON") from None
    if deeper_than(value, max_depth):
        raise HttpError(400, "JSON_TOO_DEEP", "Request body nests too deeply", limit=max_depth)
    return value
