"""Domain errors carry no HTTP, and every error code the code base raises has exactly one status: the one in
migration/entrypoints/http_status.py. Found by reading the source, so a new raise with a new code or a stray
status fails here without a test that happens to reach it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from migration.domain import errors
from migration.entrypoints.http_status import STATUS_BY_CODE

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("migration/**/*.py"), *ROOT.glob("shared/**/*.py")])  # subpackages too
RAISERS = {"HttpError", "ServiceError", "PlanTooLarge"}  # each takes (status?, code, ...) with a literal code
HTTP_MODULES = {"http_api", "http_ops", "http_handlers", "http_status", "openapi", "blob_backup", "timer_sweep"}
HTTP_IMPORTS = ("azure.functions", "shared.http", "http_status", "http_handlers")


def raised_codes() -> list[tuple[str, int | None, str]]:
    """(where, literal status or None, code) for each call of a raiser with a literal code."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if name not in RAISERS or not args:
                continue
            status = args[0] if isinstance(args[0], int) else None
            code = args[1] if status is not None and len(args) > 1 else args[0]
            if isinstance(code, str):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", status, code))
    return found


def test_the_scan_sees_the_raisers():
    codes = {code for _, _, code in raised_codes()}
    assert {"AUTH_REQUIRED", "LENGTH_REQUIRED", "TOO_MANY_KEYS", "EXPORT_INCOMPLETE", "NOT_MIGRATED"} <= codes


@pytest.mark.parametrize("where,status,code", raised_codes(), ids=lambda x: str(x))
def test_every_raised_code_is_mapped_and_any_literal_status_agrees(where, status, code):
    assert code in STATUS_BY_CODE, f"{where}: {code} has no HTTP status"
    if status is not None:
        assert status == STATUS_BY_CODE[code], f"{where}: {code} raised with {status}"


FACTORIES = [errors.already_migrated(None), errors.in_progress(), errors.rollback_active(), errors.not_enabled(),
             errors.not_migrated(), errors.validation("bad"), errors.too_large("TOO_MANY_KEYS", "keys", 3)]


@pytest.mark.parametrize("error", FACTORIES, ids=lambda e: e.code)
def test_domain_errors_carry_a_mapped_code_and_no_status(error):
    assert error.code in STATUS_BY_CODE
    assert not hasattr(error, "status")
    assert error.body()["code"] == error.code and error.body()["error"] == error.message


DOMAIN = [p for p in SOURCES if p.relative_to(ROOT).parts[0] == "migration" and p.stem not in HTTP_MODULES]


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: p.stem)
def test_domain_modules_do_not_import_http(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module or ''}.{a.name}".lstrip(".") for a in node.names} | {node.module or ""}
    assert not [m for m in imported for h in HTTP_IMPORTS if h in m], path.name
