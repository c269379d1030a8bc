"""The browser modules under client/ link up: every relative import names an existing file that exports the
imported names, every page's module script exists, and the public entry client/migration-client.js exports what
its types (migration-client.d.ts) declare. A broken split fails here, without a browser (the behaviour is
tests/e2e). Static: import and export statements are read with regular expressions, which is enough for the
plain ES modules these files are (no build step, no bundler syntax)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.settings import PROJECT_ROOT

CLIENT = PROJECT_ROOT / "client"
PUBLIC_ENTRY = CLIENT / "migration-client.js"

_COMMENT = re.compile(r"/\*.*?\*/|(?<![:\"'\\])//[^\n]*", re.S)
_FROM = r"""\s*from\s*["']([^"']+)["']"""
_IMPORT_NAMED = re.compile(r"^\s*import\s+(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s+as\s+[\w$]+)?" + _FROM, re.M)
_IMPORT_BARE = re.compile(r"""^\s*import\s*["']([^"']+)["']""", re.M)
_IMPORT_DYNAMIC = re.compile(r"""\bimport\(\s*["']([^"']+)["']\s*\)""")
_EXPORT_DECLARED = re.compile(r"^\s*export\s+(?:async\s+)?(?:function\*?|class|const|let|var)\s+([\w$]+)", re.M)
_EXPORT_DEFAULT = re.compile(r"^\s*export\s+default\b", re.M)
_EXPORT_LIST = re.compile(r"^\s*export\s*\{([^}]*)\}(?:" + _FROM + ")?", re.M)
_EXPORT_STAR = re.compile(r"^\s*export\s*\*(?:\s+as\s+([\w$]+))?" + _FROM, re.M)
_MODULE_SCRIPT = re.compile(r"""<script[^>]*type=["']module["'][^>]*src=["']([^"']+)["']""")
_DTS_VALUE = re.compile(r"^export\s+declare\s+(?:const|function|class)\s+([\w$]+)", re.M)


def _source(path: Path) -> str:
    return _COMMENT.sub("", path.read_text())


def _names(clause: str) -> list[tuple[str, str]]:
    """`a, b as c` → [(a, a), (b, c)]: (name in the other module, name here)."""
    pairs = []
    for part in (p.strip() for p in clause.split(",")):
        if part:
            inner, _, outer = part.partition(" as ")
            pairs.append((inner.strip(), (outer or inner).strip()))
    return pairs


def _resolve(importer: Path, specifier: str) -> Path | None:
    """The file a relative specifier names, or None for a bare or absolute one (none are used here)."""
    if not specifier.startswith((".", "/")):
        return None
    base = CLIENT if specifier.startswith("/") else importer.parent
    return (base / specifier.lstrip("/")).resolve()


def exported_names(path: Path, seen: frozenset[Path] = frozenset()) -> set[str]:
    """What a module exports, following `export ... from` and `export * from`."""
    text = _source(path)
    names = set(_EXPORT_DECLARED.findall(text))
    if _EXPORT_DEFAULT.search(text):
        names.add("default")
    for clause, _specifier in _EXPORT_LIST.findall(text):
        names |= {outer for _, outer in _names(clause)}
    for alias, specifier in _EXPORT_STAR.findall(text):
        target = _resolve(path, specifier)
        if alias:
            names.add(alias)
        elif target is not None and target.is_file() and target not in seen:
            names |= exported_names(target, seen | {path}) - {"default"}
    return names


def link_problems(path: Path) -> list[str]:
    """Imports (and re-exports) of `path` that do not resolve: a missing file or a name it does not export."""
    text = _source(path)
    wanted: list[tuple[str, list[str]]] = []  # (specifier, names it must export)
    for default, clause, specifier in _IMPORT_NAMED.findall(text):
        wanted.append((specifier, (["default"] if default else []) + [inner for inner, _ in _names(clause)]))
    for clause, specifier in _EXPORT_LIST.findall(text):
        if specifier:
            wanted.append((specifier, [inner for inner, _ in _names(clause)]))
    for _alias, specifier in _EXPORT_STAR.findall(text):
        wanted.append((specifier, []))
    wanted += [(s, []) for s in _IMPORT_BARE.findall(text) + _IMPORT_DYNAMIC.findall(text)]
    problems = []
    for specifier, names in wanted:
        target = _resolve(path, specifier)
        if target is None:
            problems.append(f"{path.name}: {specifier!r} is not a relative path (no bundler resolves it)")
        elif not target.is_file():
            problems.append(f"{path.name}: {specifier!r} does not exist")
        else:
            missing = sorted(set(names) - exported_names(target))
            if missing:
                problems.append(f"{path.name}: {specifier!r} does not export {', '.join(missing)}")
    return problems


def _client_modules() -> list[Path]:
    return sorted(CLIENT.rglob("*.js"))


@pytest.mark.parametrize("path", _client_modules(), ids=lambda p: str(p.relative_to(CLIENT)))
def test_every_import_resolves(path):
    assert link_problems(path) == []


def test_every_page_loads_existing_modules():
    pages = sorted(CLIENT.rglob("*.html"))
    scripts = [(page, src) for page in pages for src in _MODULE_SCRIPT.findall(page.read_text())]
    assert scripts
    assert [f"{page.relative_to(CLIENT)} → {src}" for page, src in scripts if not (page.parent / src).is_file()] == []


def test_every_module_is_used():
    """A module no page, module or public entry loads is a leftover of a split."""
    loaded = {PUBLIC_ENTRY.resolve()}
    for page in CLIENT.rglob("*.html"):
        loaded |= {(page.parent / src).resolve() for src in _MODULE_SCRIPT.findall(page.read_text())}
    for path in _client_modules():
        text = _source(path)
        specifiers = ([s for *_, s in _IMPORT_NAMED.findall(text)] + [s for _, s in _EXPORT_LIST.findall(text) if s]
                      + [s for _, s in _EXPORT_STAR.findall(text)] + _IMPORT_BARE.findall(text))
        loaded |= {t for s in specifiers if (t := _resolve(path, s)) is not None}
    assert [str(p.relative_to(CLIENT)) for p in _client_modules() if p.resolve() not in loaded] == []


def test_the_public_entry_exports_what_its_types_declare():
    declared = set(_DTS_VALUE.findall((CLIENT / "migration-client.d.ts").read_text())) | {"default"}
    assert exported_names(PUBLIC_ENTRY) == declared


def test_the_demo_entry_keeps_what_tests_import():
    # tests/e2e import these from the page's entry (`await import('/demo/demo.js')`).
    assert {"describeAdditions", "familyPhrase", "sampleData"} <= exported_names(CLIENT / "demo" / "demo.js")


@pytest.mark.parametrize("importer, exporter, problem", [
    ('import { gone } from "./b.js";', "export const here = 1;", "does not export gone"),
    ('import { here as x, gone as y } from "./b.js";', "export const here = 1;", "does not export gone"),
    ('import b from "./b.js";', "export const here = 1;", "does not export default"),
    ('import { here } from "./missing.js";', "export const here = 1;", "does not exist"),
    ('export { gone } from "./b.js";', "export { here };\nconst here = 1;", "does not export gone"),
    ('import {\n  here,\n  gone,\n} from "./b.js";', "export function here() {}", "does not export gone"),
    ('const m = await import("./missing.js");', "", "does not exist"),
    ('import { x } from "lodash";', "", "is not a relative path"),
])
def test_a_broken_link_is_caught(tmp_path, importer, exporter, problem):
    (tmp_path / "a.js").write_text(importer + "\n")
    (tmp_path / "b.js").write_text(exporter + "\n")
    problems = link_problems(tmp_path / "a.js")
    assert len(problems) == 1 and problem in problems[0]


@pytest.mark.parametrize("importer, exporter", [
    ('import { here, other as o } from "./b.js";', "export const here = 1;\nexport async function other() {}"),
    ('import b, { here } from "./b.js";', "export default 1;\nexport class here {}"),
    ('import { re } from "./b.js";', 'export { here as re } from "./c.js";'),
    ('import { here } from "./b.js";', 'export * from "./c.js";'),
    ('import * as all from "./b.js";', "// export const gone = 1;\nexport const here = 1;"),
])
def test_a_sound_link_passes(tmp_path, importer, exporter):
    (tmp_path / "a.js").write_text(importer + "\n")
    (tmp_path / "b.js").write_text(exporter + "\n")
    (tmp_path / "c.js").write_text("export const here = 1;\n")
    assert link_problems(tmp_path / "a.js") == []
