"""Bicep source parsed with tree-sitter-bicep (no Bicep compiler runs here), and literal values read from it.

`to_value` converts a node: string literals -> str, numbers -> int, booleans, null -> None, objects -> dict,
arrays -> list. Anything else (identifiers, member access, calls, ternaries, interpolated strings) is kept as
an `Expr` holding its source text and tree node, so a test can tell the literal `'cosmos'` from the identifier
`cosmos`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


def unescape(raw: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1).startswith("u{"):
            return chr(int(m.group(1)[2:-1], 16))
        return _ESCAPES.get(m.group(1), "\\" + m.group(1))

    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|.)", sub, raw)


def named_children(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.named_children if c.type != "comment"]


def string_is_literal(node: tree_sitter.Node) -> bool:
    return node.type == "string" and not any(c.type == "interpolation" for c in node.children)


def to_value(node: tree_sitter.Node) -> Any:
    t = node.type
    if t == "string":
        if string_is_literal(node):
            return unescape(node.text.decode()[1:-1])
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
        for prop in named_children(node):
            if prop.type != "object_property":
                continue
            kids = named_children(prop)
            if len(kids) == 1 and kids[0].type == "resource_declaration":
                continue  # nested child resource: collected as a resource of its own
            key_node, value_node = kids[0], kids[-1]
            out[object_key(key_node)] = to_value(value_node)
        return out
    if t == "array":
        return [to_value(c) for c in named_children(node)]
    if t == "parenthesized_expression" and len(named_children(node)) == 1:
        inner = named_children(node)[0]
        value = to_value(inner)
        return value if not isinstance(value, Expr) else Expr(t, node.text.decode(), node)
    return Expr(t, node.text.decode(), node)


def object_key(node: tree_sitter.Node) -> str:
    if node.type == "string" and string_is_literal(node):
        return unescape(node.text.decode()[1:-1])
    return node.text.decode()  # identifier, or an interpolated key kept as source text
