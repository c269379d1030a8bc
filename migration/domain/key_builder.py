"""The documents of one received key as they are built: its secrets, its backup value, its share. Pure."""
from __future__ import annotations

from typing import Any, Callable

from migration.domain.plan_model import Plan, envelope, key_hash
from migration.domain.secret_fields import (
    PIECE_CHARS,
    PLACEHOLDER_PREFIX,
    SecretSlot,
    extract,
    extract_text,
    is_secret_name,
    looks_secret,
    vault_name,
)
from migration.domain.value_parsing import Quarantine, dumps_value, hides_from_text_scan


class KeyBuilder:
    """Builds the documents of one key; collects its secrets and its backup value."""

    def __init__(self, plan: Plan, key: str, text: str):
        self.plan, self.key, self.text = plan, key, text
        self.kh = key_hash(plan.user, key)
        self.docs: list[dict] = []
        self.slots: list[SecretSlot] = []
        self.backup_dirty = False

    def doc(self, doc_type: str, doc_id: str, **fields: Any) -> dict:
        d = envelope(self.plan, doc_type, doc_id, sourceKey=self.key)
        d.update(fields)
        self.docs.append(d)
        return d

    def template(self, doc_type: str) -> dict:
        """The envelope of this key's documents of one type, to copy per item (`id` first, set by the caller):
        one dict copy per chat message instead of building the envelope field by field."""
        return envelope(self.plan, doc_type, "", sourceKey=self.key)

    def extract(self, value: Any, base: tuple = (), **kw: Any) -> tuple[Any, list[dict] | None]:
        ext = extract(value, tenant=self.plan.tenant, user=self.plan.user, source_key=self.key, base=base, **kw)
        if not ext.slots:
            return value, None
        self.slots.extend(ext.slots)
        self.backup_dirty = True
        return ext.value, [s.ref() for s in ext.slots]

    def extract_text(self, text: str, base: tuple, doc: dict) -> str:
        """Chat text with high-confidence credentials swapped for placeholders (positions in `contentSecretRefs`)."""
        stored, slots, refs = extract_text(text, tenant=self.plan.tenant, user=self.plan.user,
                                           source_key=self.key, base=base)
        if refs:
            self.slots.extend(slots)
            self.backup_dirty = True
            doc["contentSecretRefs"] = refs
        return stored

    def raw_fields(self, sensitive: bool) -> dict:
        """A raw value kept as-is, or, when it may hold a credential, moved to the vault in pieces. JSON text is
        judged by what JSON.parse reads too: a duplicate key, or a credential spelled with escapes in a key."""
        if not self.text or not (sensitive or is_secret_name(self.key) or looks_secret(self.text)
                                 or hides_from_text_scan(self.text)):
            return {"raw": self.text}
        names = []
        for n, start in enumerate(range(0, max(len(self.text), 1), PIECE_CHARS)):
            name = vault_name(self.plan.tenant, self.plan.user, self.key, ("raw", n))
            self.slots.append(SecretSlot(("raw", n), name, self.text[start:start + PIECE_CHARS]))
            names.append(name)
        self.backup_dirty = True
        return {"raw": None, "rawSecretRefs": names}

    def backup_value(self, rebuilt: Callable[[], Any] | None) -> str:
        if not self.backup_dirty:
            return self.text
        if rebuilt is None:  # raw value moved to the vault
            return PLACEHOLDER_PREFIX + ",".join(s.name for s in self.slots)
        return dumps_value(rebuilt())


# Typed fields are copies for queries (the original stays in `data`, which spills into chunks when large); a copy
# stays beside the chunks in its document, so a longer one is not made at all.
MAX_TYPED_CHARS = 256
MAX_TYPED_IDS = 64  # a list of ids copied (an agent's `mcpServerIds`)
_TYPED_INT_BOUND = 10 ** (MAX_TYPED_CHARS - 1)  # str() of a larger int is too long to copy


def plain(value: Any) -> Any:
    """A typed field's value, or None where the item's value went to the vault (typed fields are copies, and a
    copy of a secret would be a secret in the document: an id shaped like `sk-…`) or is too long to copy."""
    if isinstance(value, str) and (len(value) > MAX_TYPED_CHARS or value.startswith(PLACEHOLDER_PREFIX)):
        return None
    return value


def plain_id(value: Any) -> str | None:
    """An id copied as text (ids may be numbers), or None where `plain` gives None or its text is too long."""
    value = plain(value)
    if value is None or isinstance(value, int) and abs(value) >= _TYPED_INT_BOUND:
        return None
    return str(value)



def within_share(b: KeyBuilder, items: int) -> None:
    """A key that would explode into more documents than its share is kept whole instead (raw, chunked)."""
    if items > b.plan.limits.max_items_per_key:
        raise Quarantine("too_many_items")
