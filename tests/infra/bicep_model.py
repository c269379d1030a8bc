"""A small structural model of Bicep files, built on tree-sitter-bicep (no Bicep compiler runs here).

`load(path)` parses a file and returns its declarations (params, vars, resources, modules, outputs) with
their bodies converted to Python values: string literals -> str, numbers -> int, booleans, null -> None,
objects -> dict, arrays -> list. Anything else (identifiers, member access, calls, ternaries, interpolated
strings) is kept as an `Expr` holding its source text and tree node, so a test can tell the literal
`'cosmos'` from the identifier `cosmos`.

`Scope` evaluates values the way a deployment would as far as it can statically: identifiers resolve to
module-call bindings, param defaults (when asked) and vars; member access into resolved objects, string
interpolation of resolved parts, comparisons and boolean operators, ternaries with a known condition and a
few pure functions (string, join, subscriptionResourceId, toLower, startsWith, empty) are computed. What depends
on deployment state (resource properties, module outputs) stays an `Expr`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import tree_sitter
import tree_sitter_bicep

LANGUAGE = tree_sitter.Language(tree_sitter_bicep.language())


def parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(LANGUAGE)


def parse(source: bytes) -> tree_sitter.Tree:
    return parser().parse(source)


def syntax_errors(tree: tree_sitter.Tree) -> list[str]:
    """Every ERROR or MISSING node, as 'line:col: text' (1-based), outermost first."""
    found: list[str] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.is_error or node.is_missing:
            row, col = node.start_point
            what = "missing " + node.type if node.is_missing else "unexpected " + repr(node.text.decode()[:60])
            found.append(f"{row + 1}:{col + 1}: {what}")
            return
        for child in node.children:
            if child.has_error or child.is_missing:
                walk(child)

    if tree.root_node.has_error:
        walk(tree.root_node)
        if not found:  # has_error without a reachable ERROR/MISSING node: still an error
            found.append("1:1: parse error")
    return found


# ----------------------------------------------------------------------------------------------------------
# values
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Expr:
    """A Bicep expression that is not a plain literal: its node type and source text."""

    kind: str
    text: str
    node: tree_sitter.Node = field(repr=False, compare=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and (self.kind, self.text) == (other.kind, other.text)

    def __hash__(self) -> int:
        return hash((self.kind, self.text))

    def __str__(self) -> str:
        return self.text


class Unresolved(Expr):
    """An identifier that names a param without a default (and without a binding)."""


_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}


def _unescape(raw: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1).startswith("u{"):
            return chr(int(m.group(1)[2:-1], 16))
        return _ESCAPES.get(m.group(1), "\\" + m.group(1))

    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|.)", sub, raw)


def _named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.named_children if c.type != "comment"]


def string_is_literal(node: tree_sitter.Node) -> bool:
    return node.type == "string" and not any(c.type == "interpolation" for c in node.children)


def to_value(node: tree_sitter.Node) -> Any:
    t = node.type
    if t == "string":
        if string_is_literal(node):
            return _unescape(node.text.decode()[1:-1])
        return Expr(t, node.text.decode(), node)
    if t in ("multiline_string", "multi_line_string"):
        return node.text.decode()[3:-3]
    if t == "number":
        return int(node.text.decode())
    if t == "boolean":
        return node.text.decode() == "true"
    if t == "null":
        return None
    if t == "object":
        out: dict[str, Any] = {}
        for prop in _named(node):
            if prop.type != "object_property":
                continue
            kids = _named(prop)
            if len(kids) == 1 and kids[0].type == "resource_declaration":
                continue  # nested child resource: collected as a resource of its own
            key_node, value_node = kids[0], kids[-1]
            out[object_key(key_node)] = to_value(value_node)
        return out
    if t == "array":
        return [to_value(c) for c in _named(node)]
    if t == "parenthesized_expression" and len(_named(node)) == 1:
        inner = _named(node)[0]
        value = to_value(inner)
        return value if not isinstance(value, Expr) else Expr(t, node.text.decode(), node)
    return Expr(t, node.text.decode(), node)


def object_key(node: tree_sitter.Node) -> str:
    if node.type == "string" and string_is_literal(node):
        return _unescape(node.text.decode()[1:-1])
    return node.text.decode()  # identifier, or an interpolated key kept as source text


# ----------------------------------------------------------------------------------------------------------
# declarations
# ----------------------------------------------------------------------------------------------------------

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
    for dec in _named(node):
        call = _named(dec)[0]
        if call.type == "call_expression":
            name = _named(call)[0].text.decode()
            args_node = next((c for c in _named(call) if c.type == "arguments"), None)
            out[name] = [to_value(a) for a in _named(args_node)] if args_node else []
        else:
            out[call.text.decode()] = []
    return out


def _body(value_node: tree_sitter.Node) -> tuple[dict[str, Any], Expr | None, Expr | None, tree_sitter.Node]:
    """Declaration body: plain object, `if (c) {..}` or `[for ..: {..}]`; returns (body, cond, loop, obj)."""
    if value_node.type == "if_statement":
        cond_node, obj = _named(value_node)[0], _named(value_node)[-1]
        return to_value(obj), to_value(cond_node), None, obj
    if value_node.type == "for_statement":
        inner = _named(value_node)[-1]
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
        kids = _named(node)
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
            for c in _named(n):
                if c.type == "identifier" and c.prev_sibling is not None and c.prev_sibling.type in ("for", "(", ","):
                    bf.loop_variables.add(c.text.decode())
                if c.type in ("for_loop_parameters", "loop_parameters"):
                    bf.loop_variables.update(i.text.decode() for i in _named(c)
                                             if i.type in ("identifier", "loop_variable", "loop_enumerator"))
    return bf


def _add_resource(bf: BicepFile, node: tree_sitter.Node, decs: dict[str, list[Any]], parent: Resource | None) -> None:
    kids = _named(node)
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
    for prop in _named(obj) if obj.type == "object" else []:
        if prop.type != "object_property":
            continue
        inner = _named(prop)
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
            keys.append(object_key(_named(cur)[0]))
    return tuple(reversed(keys)), cur


def declaration_symbol(decl: tree_sitter.Node) -> str:
    kids = _named(decl)
    return kids[0].text.decode() if kids else ""


# ----------------------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------------------

_PURE_FUNCTIONS = {"string", "join", "subscriptionResourceId", "toLower", "toUpper", "concat", "startsWith",
                   "empty"}


@dataclass
class Scope:
    """Evaluates values of one file. `bindings`: module-call params (already evaluated by the caller).
    `defaults`: whether a param without binding takes its default (else it stays a symbolic Expr)."""

    file: BicepFile
    bindings: dict[str, Any] = field(default_factory=dict)
    defaults: bool = True
    fold_ternaries: bool = True  # False: a ternary stays an Expr, so a checker can see both branches
    _stack: set[str] = field(default_factory=set)

    def eval(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.eval(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.eval(v) for v in value]
        if isinstance(value, Expr):
            if value.kind == "template":  # already evaluated (by the scope that made it)
                return value
            return self._eval_node(value.node, value)
        return value

    def _eval_node(self, node: tree_sitter.Node, original: Any) -> Any:
        t = node.type
        if t == "identifier":
            return self._identifier(node.text.decode(), original)
        if t == "parenthesized_expression" and len(_named(node)) == 1:
            return self._eval_node(_named(node)[0], original)
        if t == "string":
            if string_is_literal(node):
                return to_value(node)
            return self._interpolate(node, original)
        if t in ("number", "boolean", "null", "object", "array"):
            return self.eval(to_value(node))
        if t == "member_expression":
            obj_node, prop = _named(node)[0], _named(node)[-1]
            obj = self._eval_node(obj_node, to_value(obj_node))
            if isinstance(obj, dict) and prop.text.decode() in obj:
                return obj[prop.text.decode()]
            return original
        if t == "call_expression":
            return self._call(node, original)
        if t == "binary_expression":
            return self._binary(node, original)
        if t == "unary_expression" and node.children[0].type == "!":
            value = self._eval_node(_named(node)[0], original)
            return (not value) if isinstance(value, bool) else original
        if t == "ternary_expression" and self.fold_ternaries:
            cond = self._eval_node(node.child_by_field_name("condition"), original)
            if isinstance(cond, bool):
                branch = node.child_by_field_name("consequence" if cond else "alternative")
                return self._eval_node(branch, to_value(branch))
        return original

    _OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "=~": lambda a, b: a.lower() == b.lower(),
            "&&": lambda a, b: a and b, "||": lambda a, b: a or b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}

    def _binary(self, node: tree_sitter.Node, original: Any) -> Any:
        left, op, right = node.children[0], node.children[1].type, node.children[2]
        a, b = self._eval_node(left, to_value(left)), self._eval_node(right, to_value(right))
        if op not in self._OPS or isinstance(a, Expr) or isinstance(b, Expr):
            return original
        return self._OPS[op](a, b)

    def _identifier(self, name: str, original: Any) -> Any:
        if name in self._stack:
            return original
        if name in self.bindings:
            return self.bindings[name]
        if name in self.file.params:
            param = self.file.params[name]
            if not self.defaults:
                return original
            if not param.has_default:
                return Unresolved("identifier", name, original.node) if isinstance(original, Expr) else original
            return self._nested(name, param.default)
        if name in self.file.variables:
            return self._nested(name, self.file.variables[name].value)
        return original

    def _nested(self, name: str, value: Any) -> Any:
        self._stack.add(name)
        try:
            return self.eval(value)
        finally:
            self._stack.discard(name)

    def _interpolate(self, node: tree_sitter.Node, original: Any) -> Any:
        raw = node.text.decode()
        start = node.start_byte
        parts: list[str] = []
        complete = True
        pos = 1  # after the opening quote
        for child in node.children:
            if child.type != "interpolation":
                continue
            parts.append(_unescape(raw[pos:child.start_byte - start]))
            inner = _named(child)[0]
            value = self._eval_node(inner, to_value(inner))
            if isinstance(value, Expr):
                parts.append("${" + value.text + "}")
                complete = False
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                parts.append(str(value))
            else:
                return original
            pos = child.end_byte - start
        parts.append(_unescape(raw[pos:-1]))
        # Partly known: a template whose unknown parts are `${<expression as seen from here>}`.
        return "".join(parts) if complete else Expr("template", "".join(parts), node)

    def _call(self, node: tree_sitter.Node, original: Any) -> Any:
        fn = _named(node)[0].text.decode()
        if fn not in _PURE_FUNCTIONS:
            return original
        args_node = next((c for c in _named(node) if c.type == "arguments"), None)
        args = [self._eval_node(a, to_value(a)) for a in (_named(args_node) if args_node else [])]
        if any(isinstance(a, Expr) for a in args):
            return original
        if fn == "string" and len(args) == 1:
            a = args[0]
            return ("true" if a else "false") if isinstance(a, bool) else (a if isinstance(a, str) else str(a))
        if fn == "join" and len(args) == 2 and isinstance(args[0], list):
            return args[1].join(str(x) for x in args[0])
        if fn == "concat" and all(isinstance(a, str) for a in args):
            return "".join(args)
        if fn == "toLower" and len(args) == 1 and isinstance(args[0], str):
            return args[0].lower()
        if fn == "toUpper" and len(args) == 1 and isinstance(args[0], str):
            return args[0].upper()
        if fn == "startsWith" and len(args) == 2 and all(isinstance(a, str) for a in args):
            return args[0].lower().startswith(args[1].lower())  # Bicep's startsWith ignores case
        if fn == "empty" and len(args) == 1 and isinstance(args[0], (str, list, dict)):
            return not args[0]
        if fn == "subscriptionResourceId" and len(args) == 2:
            return f"/subscriptions/{{subscriptionId}}/providers/{args[0]}/{args[1]}"
        return original

    def module_scope(self, module: Module, *, defaults: bool | None = None) -> "Scope":
        """The scope of a local module file, its params bound to this call's evaluated arguments."""
        child = load(self.file.module_file(module))
        bindings = {k: self.eval(v) for k, v in module.params.items()}
        return Scope(child, bindings, self.defaults if defaults is None else defaults)
