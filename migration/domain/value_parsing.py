"""Received localStorage text read as JSON the way the browser's JSON.parse reads it. Pure.

A value is JSON only when JSON.parse would take it and Cosmos DB can store what it gives: no NaN/Infinity, no
number a double cannot hold, no duplicate key (JSON.parse keeps the last, but the text still holds the first).
"""
from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

import orjson

from migration.domain.secret_fields import may_hold_high_confidence
from shared.json_depth import deeper_than
from shared.secret_patterns import high_confidence_spans, may_hold_high_confidence as may_hold_text
from shared.strict_json import DuplicateKey, unique_pairs

# Deeper values are kept raw (quarantined `too_deep`): Cosmos DB refuses deeply nested items, and copies and
# walks of such values would hit Python's recursion limit. Real configs nest a handful of levels.
MAX_VALUE_DEPTH = 64
_PARSE_DEPTH = 500  # below Python 3.11's json recursion ceiling, so every interpreter parses the same texts


class Quarantine(Exception):
    """A key that cannot be migrated as its family: kept whole, with this reason."""

    def __init__(self, reason: str):
        self.reason = reason


class _NotJson(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(name)  # NaN / Infinity: JSON.parse refuses them, so the value is not JSON


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotJson(text)
    return value


_MAX_DOUBLE = 1.7976931348623157e308


def _finite_int(text: str) -> int:
    value = int(text)
    if abs(value) > _MAX_DOUBLE:  # JSON.parse makes it Infinity, and Cosmos DB stores numbers as doubles
        raise _NotJson(text)
    return value


def _loads(text: str, **hooks: Any) -> Any:
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite, parse_int=_finite_int, **hooks)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nests_deeper_than(text: str, limit: int) -> bool:
    """Bracket nesting outside strings, without parsing: strings are cut out and the brackets summed, both at C
    speed (a Python loop per character cost seconds on a 30 MB value)."""
    if text.count("[") + text.count("{") <= limit:  # C-speed: too few openings to nest that deep at all
        return False
    brackets = _BRACKET.findall(_JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


_ASCII_ESCAPE = re.compile(r"\\u00[2-7]")


def escapes_ascii(text: str) -> bool:
    """True when the JSON text writes some printable ASCII character as an escape (`\\u0073` for `s`). When it
    does not, every run of letters, digits, `-`, `_`, `:` in a decoded string stands as such in the text too."""
    return _ASCII_ESCAPE.search(text) is not None


def _parse_fast(text: str) -> tuple[bool, Any]:
    """(True, value) parsed without a Python call per object or integer; (False, None) when this path cannot
    vouch for the value (the strict parse then decides).

    Duplicate keys by counting colons: the text has one per pair plus those inside its strings; orjson's output
    one per kept pair plus those inside the kept strings (it escapes no `:`). A dropped duplicate drops at least
    its own colon, so equal counts mean no pair was dropped, unless an escape wrote a colon (`\\u003a`, refused).
    Integers past 64 bits (and lone surrogates) make orjson refuse: the strict parse checks them."""
    if escapes_ascii(text):
        return False, None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
        colons = orjson.dumps(value).count(b":")
    except (ValueError, TypeError, _NotJson, RecursionError):  # orjson's errors are TypeErrors
        return False, None
    return (True, value) if text.count(":") == colons else (False, None)


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is JSON as the browser's JSON.parse sees it; else (False, None).

    An object with a duplicate key is not taken as JSON: JSON.parse keeps the last value, but the text still
    holds the first (`{"token":"S","token":""}`), so such a value stays text (exact, and vault-bound)."""
    # json's recursion ceiling differs by interpreter (Python 3.11 stops near 1,000 levels, 3.13 goes deeper):
    # past _PARSE_DEPTH every interpreter answers "not JSON", so a value's fate does not depend on the runtime.
    if len(text) > 2 * _PARSE_DEPTH and _nests_deeper_than(text, _PARSE_DEPTH):
        return False, None
    fast = _parse_fast(text)
    return fast if fast[0] else _parse_strict(text)


def parse_json_strict(text: str) -> tuple[bool, Any]:
    """parse_json without the fast path: the reference the fast path is tested against."""
    if len(text) > 2 * _PARSE_DEPTH and _nests_deeper_than(text, _PARSE_DEPTH):
        return False, None
    return _parse_strict(text)


def _parse_strict(text: str) -> tuple[bool, Any]:
    try:
        return True, _loads(text, object_pairs_hook=unique_pairs)
    except (ValueError, _NotJson, RecursionError):
        return False, None


def has_duplicate_keys(text: str) -> bool:
    try:
        _loads(text, object_pairs_hook=unique_pairs)
    except DuplicateKey:
        return True
    except (ValueError, _NotJson, RecursionError):
        return False
    return False


# A value whose object keys hold a credential is not stored as JSON: keys are copied into documents and backups
# as they are (never swapped for placeholders), so such a value is quarantined and vaulted whole, like a
# duplicate key.
SECRET_IN_KEY = "secret_in_key"


def may_hold_high_confidence_json(text: str, value: Any) -> bool:
    """False only when no string of `value` (parsed from `text`), object keys included, can hold a
    high-confidence credential. The anchors of those formats are printable ASCII and match without a word
    boundary, so the received text holds every anchor a decoded string holds unless an escape wrote a printable
    ASCII character (the other escapes write `"`, `\\`, `/`, control or non-ASCII characters, none of them in an
    anchor); then the value's own serialisation is scanned instead (orjson escapes no anchor character)."""
    return may_hold_text(text) if not escapes_ascii(text) else may_hold_high_confidence(value)


def object_keys(value: Any) -> set[str]:
    """Every object key at any depth. Iterative: a value may nest hundreds of levels (quarantined ones)."""
    keys: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        if isinstance(v, dict):
            keys.update(v)
        stack.extend(c for c in children if isinstance(c, (dict, list)))
    return keys


def key_holds_credential(value: Any, text: str | None = None) -> bool:
    """True when an object key of `value`, at any depth, holds a high-confidence credential. With the text
    `value` was parsed from, a value whose text holds no anchor is not walked at all."""
    if text is not None and not may_hold_high_confidence_json(text, value):
        return False
    return any(high_confidence_spans(k) for k in object_keys(value))


# A backslash pair, or a backslash that starts no escape Python's codec shares with JSON (dropped: `\/`, `\q`).
_NOT_A_SHARED_ESCAPE = re.compile(r'(\\\\)|\\(?![\\"bfnrtu])')


def unescaped(text: str) -> str:
    """`text` with JSON's backslash escapes decoded, as a reader decoding it would see it, even where the text is
    not JSON (truncated): C-speed codec passes, no call per escape. Malformed escapes are dropped: only scans
    read the result."""
    shared = _NOT_A_SHARED_ESCAPE.sub(r"\1", text)
    decoded = shared.encode("ascii", "backslashreplace").decode("unicode_escape", "ignore")
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")  # pairs join, as in JSON


def hides_from_text_scan(text: str) -> bool:
    """True when a scan of `text` itself could miss what a reader of it sees: a duplicate key (the text holds a
    value JSON.parse drops) or a credential spelled with escapes, in a key or a string, JSON or not
    (`"sk\\u002d…"`; `"\\nsk-…"`, where the text shows `nsk-`, no word boundary): read with them decoded."""
    if "\\" in text and high_confidence_spans(unescaped(text)):
        return True
    return has_duplicate_keys(text)


def parse_scanned(text: str) -> tuple[Any, bool]:
    """parse_structured, plus may_hold_high_confidence_json of the value (the chat builder's pre-check, so the
    session's text is scanned once)."""
    ok, value = parse_json(text)
    if not ok:
        raise Quarantine("duplicate_key" if has_duplicate_keys(text) else "invalid_json")
    if deeper_than(value, MAX_VALUE_DEPTH):
        raise Quarantine("too_deep")
    may_hold = may_hold_high_confidence_json(text, value)
    if may_hold and key_holds_credential(value):
        raise Quarantine(SECRET_IN_KEY)
    return value, may_hold


def parse_structured(text: str) -> Any:
    """A value to split into documents: JSON, no deeper than Cosmos DB and our own walks can take, and no
    credential in an object key."""
    return parse_scanned(text)[0]


def dumps_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
