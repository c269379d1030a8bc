"""The deployed package: the files `.funcignore` leaves, importable without any dev-only package.

Core Tools and azd read `.funcignore` with gitignore semantics (here: `pathspec`). The file set is copied to a
temporary folder and imported in a subprocess whose import system refuses every package that only
requirements-dev.txt installs, plus the project's dev-only folders: what Azure would fail to import fails here.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pathspec
import pytest
from packaging.requirements import Requirement

from shared.settings import PROJECT_ROOT

from ..helpers import registered

# What ships, at the top level; anything new must be placed on one side of .funcignore on purpose.
SHIPPED_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "migration", "shared"}
# Local-only modules inside shipped folders (the local host, dev tokens, fault injection).
LOCAL_ONLY = ["shared/devhost.py", "shared/devtoken.py", "shared/faults.py"]
DEV_FOLDERS = ["tests", "bench", "devtools", "localstorage_fixtures", "scripts", "client", "infra"]
# The brief's list: the derivation from the requirements files must at least refuse these.
MUST_REFUSE = ["croniter", "pytest", "hypothesis", "playwright", "schemathesis", "tree_sitter", "pathspec"]

_PROBE = r"""
import importlib, importlib.abc, json, sys
from pathlib import Path

root, refused = sys.argv[1], set(json.loads(sys.argv[2]))

class RefuseDevOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in refused:
            raise ModuleNotFoundError(f"dev-only module {name!r} imported by the deployed package", name=name)
        return None

sys.meta_path.insert(0, RefuseDevOnly())
sys.path.insert(0, root)
import function_app
functions = {f.get_function_name(): json.loads(f.get_function_json()) for f in function_app.app.get_functions()}
# Every shipped module, not only those function_app reaches at start: a lazy import would fail later, in Azure.
modules = sorted(".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                 for p in Path(root).rglob("*.py"))
for name in modules:
    importlib.import_module(name)
print(json.dumps({"functions": functions, "modules": modules}))
"""


def deployed_files(root: Path = PROJECT_ROOT) -> list[str]:
    """Paths (relative, POSIX) that a publish would upload; ignored folders are not descended into."""
    spec = pathspec.GitIgnoreSpec.from_lines((root / ".funcignore").read_text().splitlines())
    kept: list[str] = []
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{(rel / d).as_posix()}/"))
        kept += [(rel / f).as_posix() for f in sorted(files) if not spec.match_file((rel / f).as_posix())]
    return kept


def _names(req_file: Path) -> set[str]:
    names = set()
    for line in req_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.sub(r"[-_.]+", "-", Requirement(line).name).lower())
    return names


def dev_only_modules() -> set[str]:
    """Top-level import names of the distributions only requirements-dev.txt lists (installed ones)."""
    dev_only = _names(PROJECT_ROOT / "requirements-dev.txt") - _names(PROJECT_ROOT / "requirements.txt")
    modules = {m for m, dists in metadata.packages_distributions().items()
               if any(re.sub(r"[-_.]+", "-", d).lower() in dev_only for d in dists)}
    return modules | set(DEV_FOLDERS)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("deployed")
    for rel in deployed_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, dest / rel)
    return dest


def test_only_the_app_ships():
    files = deployed_files()
    assert {f.split("/", 1)[0] for f in files} == SHIPPED_TOP_LEVEL
    assert not [f for f in files if f in LOCAL_ONLY or "__pycache__" in f or f.endswith(".pyc")]


@pytest.mark.parametrize("path", LOCAL_ONLY + [f"{d}/x.py" for d in DEV_FOLDERS] +
                         ["requirements-dev.txt", "pyproject.toml", "local.settings.json", ".venv-3.13/x.py"])
def test_funcignore_leaves_out(path):
    spec = pathspec.GitIgnoreSpec.from_lines((PROJECT_ROOT / ".funcignore").read_text().splitlines())
    assert spec.match_file(path)


def test_the_refused_modules_cover_the_dev_tools():
    refused = dev_only_modules()
    installed = {m for m in MUST_REFUSE if m in metadata.packages_distributions()}
    assert installed <= refused, sorted(installed - refused)
    assert "croniter" in installed, "croniter (the local host's timer) must be installed by requirements-dev.txt"


def _probe(package: Path, refused: set[str]) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(package), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-I", "-c", _PROBE, str(package), json.dumps(sorted(refused))],
                          cwd=package, env=env, capture_output=True, text=True, timeout=120)


def test_the_deployed_package_imports_and_indexes_without_dev_packages(package):
    proc = _probe(package, dev_only_modules())
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out["functions"]) == set(registered()), "the deployed app indexes the same functions"
    assert all(fn["bindings"] for fn in out["functions"].values())
    assert not [m for m in out["modules"] if m.startswith(("shared.devhost", "shared.devtoken", "shared.faults"))]


def test_the_probe_refuses_what_it_should(package):
    """The guard itself: a shipped module importing the local host's croniter is caught."""
    (package / "shared" / "uses_dev_tool.py").write_text("import croniter\n")
    try:
        proc = _probe(package, dev_only_modules())
    finally:
        (package / "shared" / "uses_dev_tool.py").unlink()
    assert proc.returncode != 0 and "dev-only module 'croniter'" in proc.stderr
