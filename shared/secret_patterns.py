"""The one source of credential shapes: field names and text patterns. Pure, no I/O.

Three strengths, each a superset of the one before:
- `high_confidence_spans`: formats so specific that a match is a credential even inside prose (chat text);
- `has_credential` / `credential_spans`: those plus shapes that need context (a `Bearer` prefix, URL userinfo
  with a password, `?token=` parameters, `NAME=value` / `--flag=value` / `--flag value` with a secret-like name,
  connection-string fragments such as `AccountKey=`); used on config-like values and for log redaction;
- `raw_text_may_hold_secret`: those plus secret-like words and quoted JSON field names anywhere in the text;
  used on raw (unparseable or too deep) values, which go to the vault whole.
migration/ builds its detector on these; shared/logs.py redacts with them.
"""
from __future__ import annotations

import functools
import re

SECRET_WORDS = frozenset({
    "key", "apikey", "token", "secret", "password", "passwd", "pass", "pwd", "passphrase", "authorization",
    "credential", "credentials", "cookie", "sas", "sig", "bearer",
})
SECRET_SQUASHED = ("apikey", "accesskey", "secretkey", "privatekey", "connectionstring", "clientsecret",
                   "accesstoken", "refreshtoken", "idtoken", "authtoken", "accountkey", "sharedaccesskey",
                   "sharedaccesssignature")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NOT_SQUASHED = re.compile(r"[^a-z0-9]")


@functools.lru_cache(maxsize=4096)  # pure, and called for every field of every document
def is_secret_name(name: str) -> bool:
    """Word-wise (`maxTokens`, `keyboardLayout` are not secrets), plus well-known squashed names."""
    words = {w.lower() for w in _WORDS.findall(name)}
    if words & SECRET_WORDS:
        return True
    squashed = _NOT_SQUASHED.sub("", name.lower())
    return any(s in squashed for s in SECRET_SQUASHED)


_B = r"(?<![A-Za-z0-9_])"  # no match starting mid-word (`task-…` is not `sk-…`)
_HIGH = re.compile("|".join([
    _B + r"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}",                         # OpenAI / Anthropic keys
    _B + r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",                           # Stripe secret keys
    _B + r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",   # GitHub tokens
    _B + r"xox[abposr]-[A-Za-z0-9-]{10,}",                                 # Slack tokens
    _B + r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])",                         # AWS access key ids
    _B + r"AIza[0-9A-Za-z_-]{35}",                                         # Google API keys
    _B + r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",       # JWTs
    # PEM private keys, whole; a pasted key cut before its END line runs to the end of its base64 body.
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)",
]))
_CONTEXT = re.compile("|".join([
    r"(?i:\bbearer)\s+[A-Za-z0-9._~+/=-]{16,}",
    # URL userinfo with a password: postgresql://user:pw@host, https://:pw@host
    r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:[^\s/?#@]+@",
    r"[?&#](?i:access_token|id_token|refresh_token|api[_-]?key|apikey|token|key|sig|secret|client_secret"
    r"|password|passwd|pwd|code|auth)=[^&#\s]{4,}",
]))
# NAME=value (env pairs, connection-string fragments, `--api-key=VALUE`) and `--flag value`: the name decides.
_ASSIGNMENT = re.compile(r"(?<![A-Za-z0-9_])-{0,2}([A-Za-z_][A-Za-z0-9_.-]{0,80})\s*=\s*"
                         r"(\"[^\"]+\"|'[^']+'|[^\s;&,\"']+)")
_FLAG_VALUE = re.compile(r"(?<!\S)--?([A-Za-z][A-Za-z0-9_.-]{0,80})\s+([^\s-][^\s]*)")
_SECRET_WORD_IN_TEXT = re.compile(
    r"api[_-]?key|secret|password|passwd|token|authorization|credential|private[_-]?key|access[_-]?key"
    r"|account[_-]?key|shared[_-]?access", re.IGNORECASE)
_QUOTED_FIELD = re.compile(r"\"((?:[^\"\\]|\\.){1,100})\"\s*:")


# A cheap pre-check: every _HIGH match contains one of these short forms. Each regex starts with one literal
# character that is rare in prose (`_`, `-`, `A`, `J`; the rest is a lookbehind or a short tail), which the regex
# engine finds at memchr-like speed: four such passes cost about a third of one pass of a single alternation,
# and a tenth of testing the fifteen literal anchors with `in`. It never says False where _HIGH would match
# (tests/unit/test_secret_prechecks.py checks it with Hypothesis).
_UNDERSCORE, _DASH, _UPPER_A, _J = _HIGH_ANCHORS = tuple(re.compile(p).search for p in (
    r"_(?:(?<=h[pousr]_)|live_|test_|pat_)",         # gh?_ and github_pat_ tokens, Stripe keys
    r"-(?:(?<=sk-)|(?<=xox[abposr]-)|----)",          # OpenAI / Anthropic keys, Slack tokens, PEM blocks
    r"A(?:KIA|SIA|Iza)",                              # AWS access key ids, Google API keys
    r"J(?<=eyJ)",                                     # JWTs
))
_HIGH_MIN_LEN = 15  # the shortest _HIGH match (`xoxb-` + 10)


def _may_be_high(text: str) -> bool:
    return len(text) >= _HIGH_MIN_LEN and (_UNDERSCORE(text) is not None or _DASH(text) is not None
                                           or _UPPER_A(text) is not None or _J(text) is not None)


# A cheap pre-check, e.g. over a whole value's JSON text: JSON escapes none of the anchors' characters, and a
# match inside one string is still a match of the anchors in the text around it.
may_hold_high_confidence = _may_be_high


def _may_be_context(text: str) -> bool:
    return "=" in text or "://" in text or "earer" in text or "EARER" in text


def high_confidence_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _HIGH.finditer(text)] if _may_be_high(text) else []


def credential_spans(text: str) -> list[tuple[int, int]]:
    """Spans of credentials (the value only, for name=value forms), sorted, non-overlapping."""
    spans = high_confidence_spans(text)
    if _may_be_context(text):
        spans += [m.span() for m in _CONTEXT.finditer(text)]
    for pattern in (_ASSIGNMENT, _FLAG_VALUE):
        if ("=" if pattern is _ASSIGNMENT else "-") in text:
            spans += [m.span(2) for m in pattern.finditer(text) if is_secret_name(m.group(1))]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def has_credential(text: str) -> bool:
    if (_may_be_high(text) and _HIGH.search(text)) or (_may_be_context(text) and _CONTEXT.search(text)):
        return True
    return (("=" in text and any(is_secret_name(m.group(1)) for m in _ASSIGNMENT.finditer(text)))
            or ("-" in text and any(is_secret_name(m.group(1)) for m in _FLAG_VALUE.finditer(text))))


def raw_text_may_hold_secret(text: str) -> bool:
    """For values kept as text: any credential shape, secret-like word or secret-named JSON field."""
    return bool(_SECRET_WORD_IN_TEXT.search(text) or has_credential(text)
                or any(is_secret_name(m.group(1)) for m in _QUOTED_FIELD.finditer(text)))


def redact(text: str, mask: str = "[REDACTED]") -> str:
    spans = credential_spans(text)
    for start, end in reversed(spans):
        text = text[:start] + mask + text[end:]
    return text
