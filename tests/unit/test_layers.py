"""The layers of migration/ are its folders (issue 13), and each folder keeps to its rule:

- `domain/`: pure rules. Imports only other domain modules and a few pure helpers of shared/; no port, no event
  loop, no logging, no Azure SDK. Errors carry a code, never an HTTP status.
- `services/`: the service's jobs over the ports. Never imports an entry point or the composition root, and
  the service facade is imported only by the composition root (its parts share names through domain/naming.py).
- `entrypoints/`: the Functions blueprints and the HTTP contract. They reach the services only through the
  composition root `migration/app_services.py`, never by importing a service module.
- `shared/` (infrastructure) never imports migration/.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.settings import PROJECT_ROOT

MIGRATION = PROJECT_ROOT / "migration"
LAYERS = ("domain", "services", "entrypoints")
TOP_LEVEL = {"migration.app_services"}  # the composition root builds the service; everyone else is handed it
PURE_SHARED = {"shared.secret_patterns", "shared.json_depth", "shared.strict_json", "shared.settings",
               "shared.cosmos_layout"}
IO_STDLIB = {"asyncio", "logging", "os", "pathlib", "socket", "sqlite3", "subprocess", "threading", "urllib",
             "http", "random"}
# Reading the clock or drawing random ids is I/O too: the domain is handed times and ids.
IMPURE_CALLS = {"time", "perf_counter", "monotonic", "now", "utcnow", "today", "uuid4", "token_hex", "urandom"}
PACKAGES = {"migration", *(f"migration.{layer}" for layer in LAYERS), "shared"}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)


def imports(path: Path) -> set[str]:
    """The modules a file imports, as absolute names (relative ones resolved against its package)."""
    package = module_name(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = anchor + (f".{node.module}" if node.module else "")
            else:
                base = node.module or ""
            # `from <package> import x` names the module x; `from <module> import x` names a member of it.
            found |= {f"{base}.{a.name}" for a in node.names} if base in PACKAGES else {base}
    return found - {"__future__"}


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.name != "__init__.py")


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "migration" and parts[1] in LAYERS else None


def ids(paths: list[Path]) -> list[str]:
    return [module_name(p) for p in paths]


def test_every_module_lives_in_a_layer():
    stray = {module_name(p) for p in modules(MIGRATION)} - TOP_LEVEL
    assert {m for m in stray if layer_of(m) is None} == set()


DOMAIN = modules(MIGRATION / "domain")
SERVICES = modules(MIGRATION / "services")
ENTRYPOINTS = modules(MIGRATION / "entrypoints")


@pytest.mark.parametrize("path", DOMAIN, ids=ids(DOMAIN))
def test_domain_is_pure(path):
    found = imports(path)
    outside = {m for m in found if m.startswith("migration") and layer_of(m) != "domain"}
    shared = {m for m in found if m.split(".")[0] == "shared" and m not in PURE_SHARED}
    io = {m for m in found if m.split(".")[0] in IO_STDLIB | {"azure", "aiohttp", "httpx"}}
    calls = {n.func.attr for n in ast.walk(ast.parse(path.read_text()))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in IMPURE_CALLS}
    assert (outside, shared, io, calls) == (set(), set(), set(), set())


@pytest.mark.parametrize("path", SERVICES, ids=ids(SERVICES))
def test_services_never_import_an_entry_point_or_the_root(path):
    found = imports(path)
    assert {m for m in found if layer_of(m) == "entrypoints" or m in TOP_LEVEL} == set()


@pytest.mark.parametrize("path", DOMAIN + SERVICES + ENTRYPOINTS, ids=ids(DOMAIN + SERVICES + ENTRYPOINTS))
def test_only_the_composition_root_imports_the_service_facade(path):
    assert "migration.services.service" not in imports(path)


@pytest.mark.parametrize("path", ENTRYPOINTS, ids=ids(ENTRYPOINTS))
def test_entry_points_reach_services_only_through_the_root(path):
    assert {m for m in imports(path) if layer_of(m) == "services"} == set()


@pytest.mark.parametrize("path", modules(PROJECT_ROOT / "shared"), ids=ids(modules(PROJECT_ROOT / "shared")))
def test_shared_never_imports_migration(path):
    assert {m for m in imports(path) if m.split(".")[0] == "migration"} == set()


def test_the_rules_see_imports():
    """The checks above read real imports: a domain module that imports a port would be caught."""
    sample = MIGRATION / "services" / "lease.py"
    found = imports(sample)
    assert "migration.services.service_context" in found and any(layer_of(m) == "domain" for m in found)
