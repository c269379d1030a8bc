"""Static evaluation of Bicep values, the way a deployment would as far as it can without Azure.

`Scope` resolves identifiers to module-call bindings, param defaults (when asked) and vars; member access into
resolved objects, string interpolation of resolved parts, comparisons and boolean operators, ternaries with a
known condition and a few pure functions (string, join, subscriptionResourceId, toLower, startsWith, empty) are
computed. What depends on deployment state (resource properties, module outputs) stays an `Expr`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tree_sitter

from tests.infra.bicep_declarations import BicepFile, Module, load
from tests.infra.bicep_parsing import Expr, Unresolved, named_children, string_is_literal, to_value, unescape

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
        if t == "parenthesized_expression" and len(named_children(node)) == 1:
            return self._eval_node(named_children(node)[0], original)
        if t == "string":
            if string_is_literal(node):
                return to_value(node)
            return self._interpolate(node, original)
        if t in ("number", "boolean", "null", "object", "array"):
            return self.eval(to_value(node))
        if t == "member_expression":
            obj_node, prop = named_children(node)[0], named_children(node)[-1]
            obj = self._eval_node(obj_node, to_value(obj_node))
            if isinstance(obj, dict) and prop.text.decode() in obj:
                return obj[prop.text.decode()]
            return original
        if t == "call_expression":
            return self._call(node, original)
        if t == "binary_expression":
            return self._binary(node, original)
        if t == "unary_expression" and node.children[0].type == "!":
            value = self._eval_node(named_children(node)[0], original)
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
            parts.append(unescape(raw[pos:child.start_byte - start]))
            inner = named_children(child)[0]
            value = self._eval_node(inner, to_value(inner))
            if isinstance(value, Expr):
                parts.append("${" + value.text + "}")
                complete = False
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                parts.append(str(value))
            else:
                return original
            pos = child.end_byte - start
        parts.append(unescape(raw[pos:-1]))
        # Partly known: a template whose unknown parts are `${<expression as seen from here>}`.
        return "".join(parts) if complete else Expr("template", "".join(parts), node)

    def _call(self, node: tree_sitter.Node, original: Any) -> Any:
        fn = named_children(node)[0].text.decode()
        if fn not in _PURE_FUNCTIONS:
            return original
        args_node = next((c for c in named_children(node) if c.type == "arguments"), None)
        args = [self._eval_node(a, to_value(a)) for a in (named_children(args_node) if args_node else [])]
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
