"""The sweep's check for credentials left in plain text. Pure.

Deliberately broader than the planner's detector (migration/domain/secret_fields.py): it exists to catch what that
detector missed, so it adds looser field names, `name: value` phrases and high-entropy tokens to every
credential shape. It returns paths only, never a value.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterator

from migration.domain.secret_fields import PLACEHOLDER_PREFIX
from shared import secret_patterns

PAYLOAD_FIELDS = ("data", "value", "raw", "content")
_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_PREFIX) + r"ls-[0-9a-f]{48}")
# Substrings of a field name that suggest a credential (looser than the planner's word-wise rule).
_LOOSE_NAMES = ("secret", "passw", "passphrase", "token", "apikey", "api_key", "api-key", "privatekey",
                "private_key", "credential", "authoriz", "signature", "accesskey", "access_key", "pwd")
_LOOSE_PHRASE = re.compile(r"(?i)(?:pass(?:word)?|pwd|secret|token|api[ _-]?key|private[ _-]?key)\s*[:=]\s*\S{6,}")
_TOKEN = re.compile(r"[A-Za-z0-9+/_=.~-]{24,}")
_MIN_ENTROPY = 4.0  # bits per character; random base62/base64 of 24+ characters scores ~4.3 and up


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _high_entropy_token(text: str) -> bool:
    for m in _TOKEN.finditer(text):
        t = m.group()
        # Mixed classes: hex digests and UUIDs (ids everywhere in this data) are one case only.
        if (any(c.isupper() for c in t) and any(c.islower() for c in t) and any(c.isdigit() for c in t)
                and _entropy(t) >= _MIN_ENTROPY):
            return True
    return False


def suspicious_text(text: str, raw: bool = False) -> bool:
    """`raw`: a value kept as text, where secret words and field names count too (the planner vaults those)."""
    text = _PLACEHOLDER.sub(" ", text)
    if raw and secret_patterns.raw_text_may_hold_secret(text):
        return True
    return bool(secret_patterns.has_credential(text) or _LOOSE_PHRASE.search(text) or _high_entropy_token(text))


def _suspicious_name(name: str) -> bool:
    lowered = name.lower()
    return secret_patterns.is_secret_name(name) or any(n in lowered for n in _LOOSE_NAMES)


def _walk(value: Any, path: tuple, raw: bool = False) -> Iterator[tuple]:
    if isinstance(value, str):
        if value and not _PLACEHOLDER.fullmatch(value):
            name = next((p for p in reversed(path) if isinstance(p, str)), "")
            if (path and _suspicious_name(name)) or suspicious_text(value, raw):
                yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, path + (i,))


def plaintext_paths(doc: dict, limit: int = 10) -> list[list]:
    """Paths (field, then the path inside it) of strings in a document's payload that may be credentials."""
    found: list[list] = []
    for f in PAYLOAD_FIELDS:
        if f in doc and doc[f] is not None:
            for path in _walk(doc[f], (), raw=f == "raw"):
                found.append([f, *path])
                if len(found) >= limit:
                    return found
    return found
