"""Logging guards: Azure SDK loggers stay at WARNING (their DEBUG traces print request bodies), and every
log record is redacted before any handler sees it, whatever logger it came from."""
from __future__ import annotations

import logging

from . import secret_patterns

_installed = False


def redact(text: str) -> str:
    """The same credential shapes the migration detector uses (shared/secret_patterns.py)."""
    return secret_patterns.redact(text)


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
        except Exception:  # noqa: BLE001 - a bad format string must not break logging
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        return record
    logging.setLogRecordFactory(factory)
