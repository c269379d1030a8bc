"""Logging guards: Azure SDK loggers stay at WARNING (their DEBUG traces print request bodies), and every
log record is redacted before any handler sees it, whatever logger it came from."""
from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),      # JWTs
    re.compile(r"\b(?:sk|sk-ant|rk)-[A-Za-z0-9_-]{12,}"),                          # LLM API keys
    re.compile(r"\b(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{16,}"),                  # GitHub tokens
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),                                  # Slack tokens
    re.compile(r"(?i)(AccountKey|SharedAccessSignature|sig|client_secret|password)=[^;&\s]+"),
]
_installed = False


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub("[REDACTED]", text)
    return text


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    for name in ("azure", "azure.core.pipeline.policies.http_logging_policy", "azure.cosmos",
                 "azure.storage", "azure.identity", "azure.keyvault", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        return record
    logging.setLogRecordFactory(factory)
