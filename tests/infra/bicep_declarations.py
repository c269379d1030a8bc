"""The declarations of a Bicep file (params, vars, resources, modules, outputs), their bodies read as values
(bicep_parsing.to_value), and walks over the tree. `load(path)` parses a file once and caches it."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import tree_sitter

from tests.infra.bicep_parsing import Expr, named_children, object_key, parse, to_value


@dataclass
class Decorated:
    decorators: dict[str, list[Any]]

    def decorator(self, name: str) -> list[Any] | None:
        return self.decorators.get(name)


@dataclass
class Param(Decorated):
    name: str
    type: str
    has_default: bool
    default: Any
    node: tree_sitter.Node = field(repr=False)


@dataclass
class Variable(Decorated):
    name: str
    value: Any
    node: tree_sitter.Node = field(repr=False)


@dataclass
class Output(Decorated):
    name: str
    type: str
    value: Any
    node: tree_sitter.Node = field(repr=False)


@dataclass
class Resource(Decorated):
    symbol: str
    type: str                 # full type, parents' types prefixed for nested child resources
    api_version: str
    existing: bool
    body: dict[str, Any]
    condition: Expr | None    # `= if (cond) {...}`
    loop: Expr | None         # `= [for ...: {...}]` (the for_statement)
    parent_symbol: str | None  # lexical parent (nested declaration) or `parent:` property
    node: tree_sitter.Node = field(repr=False)


@dataclass
class Module(Decorated):
    symbol: str
    path: str
    body: dict[str, Any]
    condition: Expr | None
    loop: Expr | None
    node: tree_sitter.Node = field(repr=False)

    @property
    def params(self) -> dict[str, Any]:
        return self.body.get("params", {})

    @property
    def is_registry(self) -> bool:
        return self.path.startswith("br/") or self.path.startswith("br:") or self.path.startswith("ts:")


@dataclass
class BicepFile:
    path: Path
    source: bytes
    tree: tree_sitter.Tree
    target_scope: str | None = None
    params: dict[str, Param] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    loop_variables: set[str] = field(default_factory=set)

    @property
    def symbols(self) -> set[str]:
        return set(self.params) | set(self.variables) | set(self.resources) | set(self.modules)

    def resources_of_type(self, rtype: str, *, existing: bool | None = False) -> list[Resource]:
        return [r for r in self.resources.values()
                if r.type.lower() == rtype.lower() and (existing is None or r.existing == existing)]

    def module_file(self, module: Module) -> Path:
        return (self.path.parent / module.path).resolve()


def _decorators(node: tree_sitter.Node | None) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    if node is None or node.type != "decorators":
        return out
    for dec in named_children(node):
        call = named_children(dec)[0]
        if call.type == "call_expression":
            name = named_children(call)[0].text.decode()
            args_node = next((c for c in named_children(call) if c.type == "arguments"), None)
            out[name] = [to_value(a) for a in named_children(args_node)] if args_node else []
        else:
            out[call.text.decode()] = []
    return out


def _body(value_node: tree_sitter.Node) -> tuple[dict[str, Any], Expr | None, Expr | None, tree_sitter.Node]:
    """Declaration body: plain object, `if (c) {..}` or `[for ..: {..}]`; returns (body, cond, loop, obj)."""
    if value_node.type == "if_statement":
        cond_node, obj = named_children(value_node)[0], named_children(value_node)[-1]
        return to_value(obj), to_value(cond_node), None, obj
    if value_node.type == "for_statement":
        inner = named_children(value_node)[-1]
        body, cond, _, obj = _body(inner)
        return body, cond, Expr("for_statement", value_node.text.decode(), value_node), obj
    return to_value(value_node), None, None, value_node


def load(path: Path) -> BicepFile:
    return _load(Path(path).resolve())


@lru_cache(maxsize=None)
def _load(path: Path) -> BicepFile:
    return loads(path.read_bytes(), path)


def loads(source: bytes, path: Path) -> BicepFile:
    """A file from its source text (e.g. a mutated copy); `path` places it for module references."""
    tree = parse(source)
    bf = BicepFile(path=path, source=source, tree=tree)
    pending: tree_sitter.Node | None = None
    for node in tree.root_node.named_children:
        if node.type == "comment":
            continue
        if node.type == "decorators":
            pending = node
            continue
        decs, pending = _decorators(pending), None
        kids = named_children(node)
        if node.type == "target_scope_assignment":
            bf.target_scope = to_value(kids[-1])
        elif node.type == "parameter_declaration":
            name = kids[0].text.decode()
            type_node = kids[1]
            has_default = len(kids) > 2
            bf.params[name] = Param(decs, name, type_node.text.decode(), has_default,
                                    to_value(kids[-1]) if has_default else None, node)
        elif node.type == "variable_declaration":
            name = kids[0].text.decode()
            bf.variables[name] = Variable(decs, name, to_value(kids[-1]), node)
        elif node.type == "output_declaration":
            name = kids[0].text.decode()
            bf.outputs[name] = Output(decs, name, kids[1].text.decode(), to_value(kids[-1]), node)
        elif node.type == "resource_declaration":
            _add_resource(bf, node, decs, parent=None)
        elif node.type == "module_declaration":
            symbol = kids[0].text.decode()
            body, cond, loop, _ = _body(kids[-1])
            bf.modules[symbol] = Module(decs, symbol, to_value(kids[1]), body, cond, loop, node)
    for n in _walk(tree.root_node):
        if n.type == "for_statement":
            for c in named_children(n):
                if c.type == "identifier" and c.prev_sibling is not None and c.prev_sibling.type in ("for", "(", ","):
                    bf.loop_variables.add(c.text.decode())
                if c.type in ("for_loop_parameters", "loop_parameters"):
                    bf.loop_variables.update(i.text.decode() for i in named_children(c)
                                             if i.type in ("identifier", "loop_variable", "loop_enumerator"))
    return bf


def _add_resource(bf: BicepFile, node: tree_sitter.Node, decs: dict[str, list[Any]], parent: Resource | None) -> None:
    kids = named_children(node)
    symbol = kids[0].text.decode()
    type_ref = to_value(kids[1])
    rtype, _, api = type_ref.partition("@")
    existing = any(c.type == "existing" for c in node.children)
    body, cond, loop, obj = _body(kids[-1])
    parent_symbol = parent.symbol if parent else None
    if parent is not None:
        rtype = f"{parent.type}/{rtype}"
        api = api or parent.api_version
    elif isinstance(body.get("parent"), Expr):
        parent_symbol = body["parent"].text
    res = Resource(decs, symbol, rtype, api, existing, body, cond, loop, parent_symbol, node)
    bf.resources[symbol] = res
    # nested child resources (`resource x 'containers' = {...}` inside the body)
    for prop in named_children(obj) if obj.type == "object" else []:
        if prop.type != "object_property":
            continue
        inner = named_children(prop)
        if len(inner) == 1 and inner[0].type == "resource_declaration":
            _add_resource(bf, inner[0], {}, parent=res)


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for c in node.children:
        yield from _walk(c)


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    return _walk(node)


def walk_values(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, leaf) of a converted value; dict keys and list indexes make the path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_values(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_values(v, path + (str(i),))
    else:
        yield path, value


def property_path(node: tree_sitter.Node) -> tuple[tuple[str, ...], tree_sitter.Node]:
    """The object-property keys from the enclosing top-level declaration down to `node`, and that declaration."""
    keys: list[str] = []
    cur = node
    while cur.parent is not None and cur.parent.type != "infrastructure":
        cur = cur.parent
        if cur.type == "object_property":
            keys.append(object_key(named_children(cur)[0]))
    return tuple(reversed(keys)), cur


def declaration_symbol(decl: tree_sitter.Node) -> str:
    kids = named_children(decl)
    return kids[0].text.decode() if kids else ""
