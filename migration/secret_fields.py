"""Finding secrets inside localStorage values and swapping them for vault references. Pure.

A secret is a non-empty string under a field named like a key, token, secret, password or authorization
(word-wise, so `maxTokens` is not one), every string value of an MCP server's `env`, and the fields a family
declares (the LLM `endpoint`, as the seed did). Where the value stood, the document keeps a placeholder; the
document's `secretRefs` lists each (path, vault name) so export can put the value back exactly.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

SECRET_WORDS = frozenset({
    "key", "apikey", "token", "secret", "password", "passwd", "pass", "pwd", "passphrase", "authorization",
    "credential", "credentials", "cookie", "sas", "bearer",
})
SECRET_SQUASHED = ("apikey", "accesskey", "secretkey", "privatekey", "connectionstring", "clientsecret",
                   "accesstoken", "refreshtoken", "idtoken", "authtoken")
ALL_VALUES_SECRET = frozenset({"env"})  # MCP servers: environment values are credentials by convention
PLACEHOLDER_PREFIX = "@keyvault:"
# Key Vault caps a value at 25 KB; longer secrets are stored in parts of this many characters (≤ 16 KB UTF-8).
PIECE_CHARS = 4000

# Values that are credentials whatever their field is called. Used on raw (unparseable) values and on
# config-like families; never on chat text, where such words are ordinary prose.
_SECRET_LOOKING = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|Bearer\s+[A-Za-z0-9._~+/=-]{16,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\."
    r"|[?&](?:access_token|api[_-]?key|apikey|token|key|sig|secret|password|code)=[^&\s]{6,})"
)
_SECRET_FIELD_IN_TEXT = re.compile(
    r"(api[_-]?key|secret|password|passwd|token|authorization|credential)", re.IGNORECASE)
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@functools.lru_cache(maxsize=4096)  # pure, and called for every field of every message
def is_secret_name(name: str) -> bool:
    words = {w.lower() for w in _WORDS.findall(name)}
    if words & SECRET_WORDS:
        return True
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    return any(s in squashed for s in SECRET_SQUASHED)


def looks_secret(text: str) -> bool:
    """True for free text that carries a credential-like token or field name (raw values, unknown keys)."""
    return bool(_SECRET_LOOKING.search(text) or _SECRET_FIELD_IN_TEXT.search(text))


def vault_name(tenant: str, user: str, source_key: str, path: tuple) -> str:
    """Deterministic Key Vault name ([0-9a-zA-Z-], ≤127): same location → same name, so a re-run
    overwrites nothing and the value check can skip writing a new version."""
    digest = hashlib.sha256("\x00".join([tenant, user, source_key, repr(path)]).encode("utf-8", "surrogatepass"))
    return "ls-" + digest.hexdigest()[:48]


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
        ref = {"path": list(self.path), "name": self.name}
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


def extract(value: Any, *, tenant: str, user: str, source_key: str, base: tuple = (),
            extra_fields: frozenset[str] = frozenset(), by_pattern: bool = False) -> Extraction:
    """Copy of `value` with secrets replaced by placeholders, plus the slots to store in the vault.

    Copies only along paths that change, so large payloads without secrets are not duplicated.
    """
    slots: list[SecretSlot] = []

    def take(v: str, path: tuple, as_json: bool = False) -> str:
        slot = SecretSlot(path, vault_name(tenant, user, source_key, base + path), v, as_json)
        slots.append(slot)
        return PLACEHOLDER_PREFIX + slot.name

    def walk(v: Any, path: tuple, forced: bool) -> Any:
        if isinstance(v, str):
            if v and (forced or (by_pattern and _SECRET_LOOKING.search(v))):
                return take(v, path)
            return v
        if forced and isinstance(v, (int, float)) and not isinstance(v, bool):
            return take(json.dumps(v), path, as_json=True)  # a numeric PIN or key is a secret too
        if isinstance(v, dict):
            out = None
            for k, item in v.items():
                secret_here = forced or is_secret_name(k) or (not path and k in extra_fields)
                new = walk(item, path + (k,), secret_here or (k in ALL_VALUES_SECRET))
                if new is not item:
                    if out is None:
                        out = dict(v)
                    out[k] = new
            return v if out is None else out
        if isinstance(v, list):
            out = None
            for i, item in enumerate(v):
                # Command-line style: the item after `--api-key` / `--token` is a credential.
                after_flag = i > 0 and isinstance(v[i - 1], str) and v[i - 1].startswith("-") and is_secret_name(
                    v[i - 1].lstrip("-"))
                new = walk(item, path + (i,), forced or after_flag)
                if new is not item:
                    if out is None:
                        out = list(v)
                    out[i] = new
            return v if out is None else out
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
