"""Domain errors: a machine-readable code, a fixed message and extra fields; no transport.

The HTTP layer maps codes to statuses (`migration/entrypoints/http_status.py`). Messages never carry user data.
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = str(code), str(message), extra

    def body(self) -> dict:
        return {"error": self.message, "code": self.code, **self.extra}


def already_migrated(completed_at: str | None, unsaved_keys: int = 0) -> ServiceError:
    """`unsaved_keys`: how many of the sent keys hold data not stored yet (send `merge: true` to store them)."""
    return ServiceError("ALREADY_MIGRATED", "Migration already completed", migration_date=completed_at,
                        unsaved_keys=unsaved_keys)


def in_progress() -> ServiceError:
    return ServiceError("MIGRATION_IN_PROGRESS", "Another migration of this user is in progress; retry later")


def rollback_active() -> ServiceError:
    return ServiceError("ROLLBACK_ACTIVE", "Migration is paused for this tenant by an emergency rollback")


def not_enabled() -> ServiceError:
    return ServiceError("MIGRATION_NOT_ENABLED", "Migration is not enabled for this tenant yet")


def not_migrated() -> ServiceError:
    return ServiceError("NOT_MIGRATED", "No completed migration to export for this user")


def validation(message: str, code: str = "VALIDATION_ERROR", **extra: Any) -> ServiceError:
    return ServiceError(code, message, **extra)


def too_large(code: str, what: str, limit: int, key: str | None = None) -> ServiceError:
    """`key`: the caller's own key whose document is over the item cap (DOCUMENT_TOO_LARGE), as a field."""
    extra = {"key": key} if code == "DOCUMENT_TOO_LARGE" else {}
    return ServiceError(code, f"The data would need more than {limit} {what} (the most one migration may "
                        "write); nothing was written", limit=limit, **extra)
