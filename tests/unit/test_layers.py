"""The layers of migration/ (issue 13): only the composition root imports the service facade (ops and the
service's own parts share names through naming.py, never through service.py), and the modules the README calls
pure import no I/O: no port, no event loop, no logging, and only other pure modules of migration/."""
from __future__ import annotations

import ast

import pytest

from shared.settings import PROJECT_ROOT

MIGRATION = PROJECT_ROOT / "migration"
PURE = {"families", "models", "secret_fields", "planner", "exporter", "backup_format", "counters", "metrics",
        "merge", "merge_plan", "plaintext_scan", "records", "naming", "planning", "errors"}
PURE_SHARED = {"shared.secret_patterns", "shared.json_depth", "shared.strict_json", "shared.settings",
               "shared.cosmos_layout"}
IO_STDLIB = {"asyncio", "logging", "os", "pathlib", "socket", "sqlite3", "subprocess", "threading", "urllib.request"}
PACKAGES = {"migration", "shared"}
SERVICE_IMPORTERS = {"app_services"}  # the composition root builds the service; everyone else is handed it


def imports(module: str) -> set[str]:
    """The modules `module` imports, as absolute names (relative ones resolved inside migration/)."""
    tree = ast.parse((MIGRATION / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ("migration" + (f".{node.module}" if node.module else "")) if node.level else node.module or ""
            # `from <package> import x` names the module x; `from <module> import x` names a member of it.
            found |= {f"{base}.{a.name}" for a in node.names} if base in PACKAGES else {base}
    return found - {"__future__"}


MODULES = sorted(p.stem for p in MIGRATION.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_only_the_composition_root_imports_the_service(module):
    if module not in SERVICE_IMPORTERS:
        assert "migration.service" not in imports(module)


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_modules_import_no_io(module):
    found = imports(module)
    impure = {m for m in found if m.startswith("migration.") and m.removeprefix("migration.") not in PURE}
    shared = {m for m in found if m.startswith("shared") and m not in PURE_SHARED}
    io = {m for m in found if m.split(".")[0] in IO_STDLIB or m in IO_STDLIB or m.startswith("azure")}
    assert (impure, shared, io) == (set(), set(), set())


def test_the_pure_list_names_real_modules():
    assert PURE <= set(MODULES)
