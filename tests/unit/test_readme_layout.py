"""The README's Layout section names every module of the app's packages, so a newcomer's map of the code stays
true (issue 13): a module added, moved or renamed without the README fails here."""
from __future__ import annotations

import re
import subprocess

from shared.settings import PROJECT_ROOT


def _layout() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def _modules(*folders: str) -> list[str]:
    files = subprocess.run(["git", "ls-files", *(f"{f}/*.py" for f in folders)], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return [f for f in files if not f.endswith("__init__.py")]


def test_every_app_module_is_named_in_the_layout():
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*\.py", _layout()))
    assert [f for f in _modules("migration", "shared") if f.rsplit("/", 1)[-1] not in names] == []


def test_every_layer_folder_is_named_in_the_layout():
    layout = _layout()
    folders = {f.rsplit("/", 1)[0] for f in _modules("migration")} - {"migration"}
    assert [d for d in sorted(folders) if f"{d.rsplit('/', 1)[-1]}/" not in layout] == []
