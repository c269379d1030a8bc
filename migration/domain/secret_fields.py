"""Finding secrets inside localStorage values and swapping them for vault references. Pure.

A secret is a non-empty string under a field named like a key, token, secret, password or authorization
(word-wise, so `maxTokens` is not one), every string value of an MCP server's `env`, and the fields a family
declares (the LLM `endpoint`, as the seed did), and strings shaped like credentials (shared/secret_patterns.py:
every shape in configs, only high-confidence formats in chat). Where the value stood, the document keeps a
placeholder; the document's `secretRefs` lists each (path, vault name) so export can put the value back exactly.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal

import orjson

from shared import secret_patterns
from shared.secret_patterns import is_secret_name

__all__ = ["is_secret_name", "looks_secret", "vault_name", "extract", "restore", "extract_text", "restore_text"]

# Which value patterns make a string a secret whatever its field is called: config-like values take every
# credential shape; chat data only the high-confidence formats (prose mentions passwords all the time).
Patterns = Literal["none", "credentials", "high_confidence"]
_PATTERN_TESTS = {"credentials": secret_patterns.has_credential,
                  "high_confidence": lambda v: bool(secret_patterns.high_confidence_spans(v))}

def may_hold_high_confidence(value: Any) -> bool:
    """False only when no string inside `value` can hold a high-confidence credential: one scan of its JSON
    text (orjson escapes none of the anchors' characters) instead of one per string."""
    return _may_hold_high_confidence(value)


def _may_hold_high_confidence(value: Any) -> bool:
    try:
        return secret_patterns.may_hold_high_confidence(orjson.dumps(value).decode())
    except TypeError:  # lone surrogates: orjson refuses them; check string by string instead
        return True


ALL_VALUES_SECRET = frozenset({"env"})  # MCP servers: environment values are credentials by convention
PLACEHOLDER_PREFIX = "@keyvault:"
# Key Vault caps a value at 25 KB; longer secrets are stored in parts of this many characters (≤ 16 KB UTF-8).
PIECE_CHARS = 4000


def looks_secret(text: str) -> bool:
    """Raw text (unparseable, too deep, a scalar): any credential shape, secret word or secret-named field."""
    return secret_patterns.raw_text_may_hold_secret(text)


def vault_name(tenant: str, user: str, source_key: str, path: tuple) -> str:
    """Deterministic Key Vault name ([0-9a-zA-Z-], ≤127): same location → same name, so a re-run
    overwrites nothing and the value check can skip writing a new version. The parts are hashed as one JSON
    array (an injective encoding): no choice of ids containing NUL or quotes makes two locations share a name."""
    encoded = json.dumps([tenant, user, source_key, list(path)], ensure_ascii=True, separators=(",", ":"))
    return "ls-" + hashlib.sha256(encoded.encode("ascii")).hexdigest()[:48]


@dataclass
class SecretSlot:
    path: tuple            # path inside the document's payload
    name: str              # vault name (of the first part when the value is long)
    value: str
    as_json: bool = False  # a non-string secret, stored as its JSON text and restored with its type

    @property
    def parts(self) -> int:
        return max(1, -(-len(self.value) // PIECE_CHARS))

    def ref(self) -> dict:
        ref: dict[str, Any] = {"path": list(self.path), "name": self.name}
        if self.parts > 1:
            ref["parts"] = self.parts
        if self.as_json:
            ref["json"] = True
        return ref

    def vault_entries(self) -> list[tuple[str, str]]:
        if self.parts == 1:
            return [(self.name, self.value)]
        return [(f"{self.name}-p{i}", self.value[i * PIECE_CHARS:(i + 1) * PIECE_CHARS]) for i in range(self.parts)]


def ref_names(ref: dict) -> list[str]:
    if ref.get("parts", 1) == 1:
        return [ref["name"]]
    return [f"{ref['name']}-p{i}" for i in range(ref["parts"])]


def ref_value(ref: dict, secrets: dict[str, str]) -> Any:
    text = "".join(secrets[n] for n in ref_names(ref))
    return json.loads(text) if ref.get("json") else text


@dataclass
class Extraction:
    value: Any
    slots: list[SecretSlot] = field(default_factory=list)


_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)


@functools.lru_cache(maxsize=1024)  # chat messages share a handful of field-name sets
def _plain_names(names: tuple, extra_fields: frozenset[str]) -> bool:
    return not any(is_secret_name(k) or k in ALL_VALUES_SECRET or k in extra_fields for k in names)


def flat_and_plain(value: dict, extra_fields: frozenset[str] = frozenset()) -> bool:
    """Scalars only, under names that carry no secret: with no value patterns to test, nothing to extract.

    The names are checked once per set of names, the values' types at C speed (subclasses, which parsed
    JSON never holds, take the isinstance test)."""
    if not _plain_names(tuple(value), extra_fields):
        return False
    return (set(map(type, value.values())) <= _SCALAR_TYPES
            or all(isinstance(v, _SCALARS) for v in value.values()))


def all_flat_and_plain(items: list) -> bool:
    """True only when every item is a dict for which flat_and_plain holds: a few C passes over a whole chat
    session instead of a call per message (names once per distinct set of names, value types all at once)."""
    if set(map(type, items)) - {dict}:
        return False
    if not all(_plain_names(names, frozenset()) for names in set(map(tuple, items))):
        return False
    return set(map(type, chain.from_iterable(map(dict.values, items)))) <= _SCALAR_TYPES


def extract(value: Any, *, tenant: str, user: str, source_key: str, base: tuple = (),
            extra_fields: frozenset[str] = frozenset(), by_pattern: bool | Patterns = False) -> Extraction:
    """Copy of `value` with secrets replaced by placeholders, plus the slots to store in the vault.

    Copies only along paths that change, so large payloads without secrets are not duplicated.
    """
    slots: list[SecretSlot] = []
    level = "credentials" if by_pattern is True else (by_pattern or "none")
    pattern_test = _PATTERN_TESTS.get(level)
    if level == "high_confidence" and not _may_hold_high_confidence(value):
        pattern_test = None  # one check of the whole value instead of one per string (every chat message)
    if pattern_test is None and isinstance(value, dict) and flat_and_plain(value, extra_fields):
        return Extraction(value)  # the common chat message: nothing a walk could find, so no walk

    def take(v: str, path: tuple, as_json: bool = False) -> str:
        slot = SecretSlot(path, vault_name(tenant, user, source_key, base + path), v, as_json)
        slots.append(slot)
        return PLACEHOLDER_PREFIX + slot.name

    def walk(v: Any, path: tuple, forced: bool) -> Any:
        if isinstance(v, str):
            if v and (forced or (pattern_test is not None and pattern_test(v))):
                return take(v, path)
            return v
        if forced and isinstance(v, (int, float)) and not isinstance(v, bool):
            return take(json.dumps(v), path, as_json=True)  # a numeric PIN or key is a secret too
        if isinstance(v, dict):
            out: dict | None = None
            for k, item in v.items():
                secret_here = forced or is_secret_name(k) or (not path and k in extra_fields)
                new = walk(item, path + (k,), secret_here or (k in ALL_VALUES_SECRET))
                if new is not item:
                    if out is None:
                        out = dict(v)
                    out[k] = new
            return v if out is None else out
        if isinstance(v, list):
            out_list: list | None = None
            for i, item in enumerate(v):
                # Command-line style: the item after `--api-key` / `--token` is a credential.
                after_flag = i > 0 and isinstance(v[i - 1], str) and v[i - 1].startswith("-") and is_secret_name(
                    v[i - 1].lstrip("-"))
                new = walk(item, path + (i,), forced or after_flag)
                if new is not item:
                    if out_list is None:
                        out_list = list(v)
                    out_list[i] = new
            return v if out_list is None else out_list
        return v

    return Extraction(walk(value, (), False), slots)


def restore(value: Any, refs: list[dict], secrets: dict[str, str]) -> Any:
    """Put vault values back at their paths (in place on a fresh copy made by the caller)."""
    for ref in refs:
        path = ref["path"]
        if not path:
            return ref_value(ref, secrets)
        target = value
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = ref_value(ref, secrets)
    return value


def extract_text(text: str, *, tenant: str, user: str, source_key: str, base: tuple) -> tuple[str, list[SecretSlot],
                                                                                             list[dict]]:
    """Free text (a chat message) with each high-confidence credential replaced by a placeholder.

    The refs record where each placeholder stands (`at`, `length` in the stored text), so restoring splices by
    position and never searches: user text that merely looks like a placeholder is left alone."""
    spans = secret_patterns.high_confidence_spans(text)
    if not spans:
        return text, [], []
    out, slots, refs, last = [], [], [], 0
    stored_len = 0
    for n, (start, end) in enumerate(spans):
        out.append(text[last:start])
        stored_len += start - last
        slot = SecretSlot(base + (n,), vault_name(tenant, user, source_key, base + (n,)), text[start:end])
        placeholder = PLACEHOLDER_PREFIX + slot.name
        out.append(placeholder)
        slots.append(slot)
        refs.append({**slot.ref(), "at": stored_len, "length": len(placeholder)})
        stored_len += len(placeholder)
        last = end
    out.append(text[last:])
    return "".join(out), slots, refs


def restore_text(text: str, refs: list[dict] | None, secrets: dict[str, str]) -> str:
    for ref in sorted(refs or (), key=lambda r: r["at"], reverse=True):
        text = text[:ref["at"]] + ref_value(ref, secrets) + text[ref["at"] + ref["length"]:]
    return text
