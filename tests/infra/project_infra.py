"""The project's infra/ as the infra tests see it: where the files are, main.bicep and its module scopes,
the Function App and its app settings evaluated, and module outputs followed to what they name."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.infra import bicep_model as bm

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))


def rel(path: Path) -> str:
    return path.resolve().relative_to(INFRA).as_posix()


def main_file() -> bm.BicepFile:
    return bm.load(MAIN)


def main_scope(*, defaults: bool) -> bm.Scope:
    return bm.Scope(main_file(), defaults=defaults)


def module_scope(symbol: str, *, defaults: bool) -> bm.Scope:
    scope = main_scope(defaults=defaults)
    return scope.module_scope(scope.file.modules[symbol])


def the_function_app(defaults: bool = True) -> tuple[bm.Scope, bm.Resource]:
    scope = module_scope("functionApp", defaults=defaults)
    sites = scope.file.resources_of_type("Microsoft.Web/sites")
    assert len(sites) == 1, "functionapp.bicep must declare exactly one Microsoft.Web/sites"
    return scope, sites[0]


def app_settings(defaults: bool = True) -> dict[str, Any]:
    scope, site = the_function_app(defaults)
    items = site.body["properties"]["siteConfig"]["appSettings"]
    assert isinstance(items, list), "appSettings must be a literal list of {name, value} (the tests read it)"
    names = [i["name"] for i in items]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"app settings set twice: {sorted(dupes)}"
    return {i["name"]: scope.eval(i["value"]) for i in items}


def follow(value: Any, scope: bm.Scope | None = None) -> Any:
    """Resolve `module.outputs.x` (local modules of main.bicep) and `resource.name` as far as static."""
    scope = scope or main_scope(defaults=True)
    for _ in range(10):
        if not isinstance(value, bm.Expr) or value.kind != "member_expression":
            return value
        parts = value.text.split(".")
        if len(parts) == 3 and parts[1] == "outputs" and parts[0] in scope.file.modules:
            module = scope.file.modules[parts[0]]
            if module.is_registry:
                return value
            child = scope.module_scope(module)
            output = child.file.outputs[parts[2]]
            scope, value = child, child.eval(output.value)
        elif len(parts) == 2 and parts[1] == "name" and parts[0] in scope.file.resources:
            value = scope.eval(scope.file.resources[parts[0]].body["name"])
        else:
            return value
    return value


def expr_text(value: Any) -> str | None:
    return value.text if isinstance(value, bm.Expr) else None


def expression_node(text: str):
    """A tree node for an expression, for building Exprs in tests."""
    tree = bm.parse(f"var x = {text}\n".encode())
    return tree.root_node.named_children[0].named_children[-1]
