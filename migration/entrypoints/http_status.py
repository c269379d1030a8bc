"""Error code → HTTP status: the one place a domain error meets HTTP. README's error table lists the same."""
from __future__ import annotations

STATUS_BY_CODE: dict[str, int] = {
    # the body is not strict JSON in UTF-8, or does not fit its model
    "INVALID_JSON": 400, "DUPLICATE_KEY": 400, "NON_FINITE_NUMBER": 400, "JSON_TOO_DEEP": 400,
    "INVALID_ENCODING": 400, "VALIDATION_ERROR": 400,
    "AUTH_REQUIRED": 401,
    "FORBIDDEN": 403, "MIGRATION_NOT_ENABLED": 403,
    "NOT_MIGRATED": 404, "BACKUP_NOT_FOUND": 404,
    "ALREADY_MIGRATED": 409, "MIGRATION_IN_PROGRESS": 409, "ROLLBACK_ACTIVE": 409, "BACKUP_SECRETS_UNAVAILABLE": 409,
    "LENGTH_REQUIRED": 411,
    "PAYLOAD_TOO_LARGE": 413, "TOO_MANY_DOCUMENTS": 413, "TOO_MANY_SECRETS": 413,
    "TOO_MANY_KEYS": 413, "DOCUMENT_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "MIGRATION_ERROR": 500, "EXPORT_INCOMPLETE": 500,
    "DEPENDENCY_UNAVAILABLE": 503,
}


def status_for(code: str) -> int:
    """KeyError for an unmapped code; tests/unit/test_error_status.py checks every code the code base raises is
    mapped."""
    return STATUS_BY_CODE[code]
