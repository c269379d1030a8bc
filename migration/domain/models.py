"""Typed views of the localStorage items. Pure.

The stored item is always the original object (unknown fields kept, nothing coerced in place); these models
only derive the typed, queryable fields of a document. An item that does not fit its model is still kept
whole; it just gets no typed fields and a warning.
"""
from __future__ import annotations

import functools
import time
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

Id = str | int


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Agent(_Item):
    id: Id | None = None
    name: str | None = None
    llmConfigId: Id | None = None
    mcpServerIds: list[Id] | None = None


class LlmConfig(_Item):
    id: Id | None = None
    name: str | None = None
    provider: str | None = None
    model: str | None = None
    isDefault: bool | None = None


class McpServer(_Item):
    id: Id | None = None
    name: str | None = None
    transport: str | None = None
    enabled: bool | None = None


def typed(model: type[_Item], item: Any) -> _Item | None:
    if not isinstance(item, dict):
        return None
    try:
        return model.model_validate(item)
    except ValidationError:
        return None


_MIN_TS = datetime(1970, 1, 1, tzinfo=timezone.utc).timestamp()
_MAX_TS = datetime(9999, 12, 31, tzinfo=timezone.utc).timestamp()
_MS_THRESHOLD = 1e11  # below: seconds (until year 5138); above: milliseconds
_MAX_MS = _MAX_TS * 1000


@functools.lru_cache(maxsize=4096)  # a session's messages fall in a few hours
def _utc_hour(hours: int) -> str:
    t = time.gmtime(hours * 3600)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:"


# The rest of the text by table: "MM:SS" for each second of an hour, ".mmmZ" for each millisecond.
_MIN_SEC = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def _epoch_ms(value: int) -> str:
    """Epoch ms, the common case: integer arithmetic, exact to the millisecond (the float path can be a
    millisecond off after year ~3000) and a fraction of its cost. UTC has no leap seconds in epoch time:
    every hour is 3,600 s."""
    secs, ms = divmod(value, 1000)
    hours, second_of_hour = divmod(secs, 3600)
    return _utc_hour(hours) + _MIN_SEC[second_of_hour] + _MILLIS[ms]


def normalize_timestamp(value: Any) -> str | None:
    """ISO-8601 UTC for epoch ms, epoch s, numeric strings and ISO text; None for anything else.

    A bad timestamp never fails a message (the seed's `new Date(garbage)`): the original stays in the item.
    """
    if type(value) is int and _MS_THRESHOLD <= value <= _MAX_MS:  # every chat message: no checks, no try
        return _epoch_ms(value)
    try:
        return _normalize(value)
    except (ValueError, OverflowError):  # year 0 or 10000 after the UTC shift, 1e400 ms, ...
        return None


def _normalize(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, int) and _MS_THRESHOLD <= value <= _MAX_MS:
        return _epoch_ms(value)
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else value
        if not (_MIN_TS <= seconds <= _MAX_TS):
            return None
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
    return None
