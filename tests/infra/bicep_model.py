"""A small structural model of Bicep files, built on tree-sitter-bicep (no Bicep compiler runs here).

The one name the infra tests import (`from tests.infra import bicep_model as bm`); the model lives in three
modules: bicep_parsing.py (the parser, syntax errors, literal values and `Expr`), bicep_declarations.py
(`load(path)`: params, vars, resources, modules, outputs; tree walks) and bicep_evaluation.py (`Scope`: values
evaluated statically, as far as a deployment's would be without Azure).
"""
from __future__ import annotations

from tests.infra.bicep_declarations import (
    BicepFile,
    Decorated,
    Module,
    Output,
    Param,
    Resource,
    Variable,
    declaration_symbol,
    load,
    loads,
    property_path,
    walk,
    walk_values,
)
from tests.infra.bicep_evaluation import Scope
from tests.infra.bicep_parsing import (
    LANGUAGE,
    Expr,
    Unresolved,
    object_key,
    parse,
    parser,
    string_is_literal,
    syntax_errors,
    to_value,
)

__all__ = [
    "LANGUAGE", "BicepFile", "Decorated", "Expr", "Module", "Output", "Param", "Resource", "Scope", "Unresolved",
    "Variable", "declaration_symbol", "load", "loads", "object_key", "parse", "parser", "property_path",
    "string_is_literal", "syntax_errors", "to_value", "walk", "walk_values",
]
