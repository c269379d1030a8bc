"""Names the migration service and ops share: document ids, the path-safe form of an id (blob paths, log
lines), the folder of a user's backups and the timestamp format of documents. Pure."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from migration.domain.planner import user_tag

TENANT_STATE_ID = "tenant_state"
_SAFE_PATH = re.compile(r"[A-Za-z0-9._-]{1,100}")


def record_id(user: str) -> str:
    return f"migration.{user_tag(user)}"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def path_part(value: str) -> str:
    """Blob/file path component: the id itself when safe, else a stable hash (never `..`, `/`, unicode)."""
    # `h-…` is the hashed form's own prefix: such an id is hashed too, so no id can pose as another's hash.
    if _SAFE_PATH.fullmatch(value) and value not in (".", "..") and not value.startswith("h-"):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def user_prefix(tenant: str, user: str) -> str:
    """The folder of one user's backups; the trailing slash: never another user's prefix."""
    return f"{path_part(tenant)}/{path_part(user)}/"
