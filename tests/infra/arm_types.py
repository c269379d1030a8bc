"""Checks Bicep resource bodies against Azure's own type definitions (bicep-types-az, vendored in data/).

What the Bicep compiler would report from the same data, as far as values are static: the resource type
exists at its API version; every property set exists in its type, recursively (objects, arrays, unions,
discriminated objects, dictionaries); none is read-only; required properties are present; literal values
are of the right kind, in their enum (extensible enums included, as the compiler warns), within length/value
bounds and patterns. Expressions are not evaluated beyond what bicep_model.Scope resolves; both branches of a
ternary are checked.

AVM module calls are checked against the module version's published main.json: parameter names, required
parameters, allowed values, and object keys of typed parameters.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import bicep_model as bm

DATA = Path(__file__).resolve().parent / "data"
REQUIRED, READ_ONLY = 1, 2
# Bicep keywords of a resource body that are not ARM properties.
BICEP_ONLY_KEYS = {"parent", "scope", "dependsOn"}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    resources: int = 0
    keys: int = 0

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


@lru_cache(maxsize=None)
def azure_types() -> dict:
    return json.loads((DATA / "azure-types.json").read_text())


@lru_cache(maxsize=None)
def avm_modules() -> dict:
    return json.loads((DATA / "avm-modules.json").read_text())


class Types:
    def __init__(self, data: dict):
        self.types = data["types"]
        self.resources = {k.lower(): v for k, v in data["resources"].items()}
        self.versions = data["versions"]

    def get(self, ref: dict | int) -> dict:
        return self.types[int(ref["$ref"][2:]) if isinstance(ref, dict) else ref]

    def resource_body(self, rtype: str, api: str) -> dict | None:
        idx = self.resources.get(f"{rtype}@{api}".lower())
        return None if idx is None else self.get(self.types[idx]["body"])


def _branches(value: Any, scope: bm.Scope | None) -> list[Any] | None:
    """The two outcomes of a ternary expression (as values), else None."""
    if isinstance(value, bm.Expr) and value.node is not None:
        node = value.node
        while node.type == "parenthesized_expression" and len(node.named_children) == 1:
            node = node.named_children[0]
        if node.type == "ternary_expression":
            branches = [bm.to_value(node.child_by_field_name(f)) for f in ("consequence", "alternative")]
            return [scope.eval(b) for b in branches] if scope else branches
    return None


class Checker:
    def __init__(self, types: Types, report: Report, scope: bm.Scope | None = None):
        self.t = types
        self.report = report
        self.scope = scope

    def value(self, value: Any, tdef: dict, where: str) -> None:
        branches = _branches(value, self.scope)
        if branches is not None:
            for b in branches:
                self.value(b, tdef, where)
            return
        if isinstance(value, bm.Expr) or value is None:
            return  # computed at deployment (not statically known), or null (ARM omits the property)
        kind = tdef["$type"]
        getattr(self, "_" + kind, self._other)(value, tdef, where)

    def _errors_for(self, value: Any, tdef: dict, where: str) -> list[str]:
        sub = Checker(self.t, Report(), self.scope)
        sub.value(value, tdef, where)
        self.report.keys += sub.report.keys
        return sub.report.problems

    def _other(self, value: Any, tdef: dict, where: str) -> None:
        pass  # AnyType, ResourceFunctionType, ...

    def _ObjectType(self, value: Any, tdef: dict, where: str, *, root: bool = False,
                    extra: dict | None = None) -> None:
        if not isinstance(value, dict):
            self.report.add(where, f"expected an object ({tdef.get('name', 'object')}), got {value!r}")
            return
        props = {**tdef.get("properties", {}), **(extra or {})}
        lower = {k.lower(): k for k in props}
        for key, item in value.items():
            self.report.keys += 1
            if root and key in BICEP_ONLY_KEYS:
                continue
            if key in props or key.lower() in lower:
                name = key if key in props else lower[key.lower()]
                if key != name:
                    self.report.add(f"{where}.{key}", f"spelled {name!r} in the type")
                prop = props[name]
                if prop.get("flags", 0) & READ_ONLY:
                    self.report.add(f"{where}.{key}", "read-only property (set by Azure, not by a template)")
                    continue
                self.value(item, self.t.get(prop["type"]), f"{where}.{key}")
            elif "additionalProperties" in tdef:
                self.value(item, self.t.get(tdef["additionalProperties"]), f"{where}.{key}")
            else:
                near = sorted(props, key=lambda p: -_similarity(p, key))[:3]
                self.report.add(f"{where}.{key}", f"no such property in {tdef.get('name', 'object')} "
                                                  f"(nearest: {', '.join(near)})")
        for name, prop in props.items():
            flags = prop.get("flags", 0)
            if flags & REQUIRED and not flags & READ_ONLY and name not in value and not (root and name == "name"):
                self.report.add(f"{where}.{name}", "required property missing")

    def root(self, body: Any, tdef: dict, where: str) -> None:
        if tdef["$type"] == "DiscriminatedObjectType":
            self._DiscriminatedObjectType(body, tdef, where, root=True)
        else:
            self._ObjectType(body, tdef, where, root=True)

    def _DiscriminatedObjectType(self, value: Any, tdef: dict, where: str, *, root: bool = False) -> None:
        if not isinstance(value, dict):
            self.report.add(where, f"expected an object ({tdef.get('name')}), got {value!r}")
            return
        disc = tdef["discriminator"]
        elements = tdef["elements"]
        chosen = value.get(disc)
        base = {"$type": "ObjectType", "name": tdef.get("name"), "properties": tdef.get("baseProperties", {})}
        if isinstance(chosen, str):
            if chosen not in elements:
                self.report.add(f"{where}.{disc}", f"{chosen!r} is not one of {sorted(elements)}")
                return
            element = self.t.get(elements[chosen])
            self._ObjectType(value, base, where, root=root, extra=element.get("properties", {}))
        else:  # not static: accept the keys of any variant
            merged: dict = {}
            for ref in elements.values():
                merged.update(self.t.get(ref).get("properties", {}))
            self._ObjectType(value, {**base, "properties": {**base["properties"], **merged}}, where, root=root)

    def _ArrayType(self, value: Any, tdef: dict, where: str) -> None:
        if not isinstance(value, list):
            self.report.add(where, f"expected an array, got {value!r}")
            return
        if "minLength" in tdef and len(value) < tdef["minLength"]:
            self.report.add(where, f"at least {tdef['minLength']} items")
        if "maxLength" in tdef and len(value) > tdef["maxLength"]:
            self.report.add(where, f"at most {tdef['maxLength']} items")
        item = self.t.get(tdef["itemType"])
        for i, v in enumerate(value):
            self.value(v, item, f"{where}[{i}]")

    def _UnionType(self, value: Any, tdef: dict, where: str) -> None:
        elements = [self.t.get(e) for e in tdef["elements"]]
        literals = [e["value"] for e in elements if e["$type"] == "StringLiteralType"]
        if isinstance(value, str) and literals:
            # An "extensible" enum (literals + string) accepts any string in ARM, but the Bicep compiler
            # warns on a value outside the known ones (BCP036/BCP088): a typo there deploys and misbehaves.
            if value not in literals:
                self.report.add(where, f"{value!r} is not one of {literals}")
            return
        attempts = [self._errors_for(value, e, where) for e in elements]
        if not any(not a for a in attempts):
            self.report.problems.extend(min(attempts, key=len))

    def _StringLiteralType(self, value: Any, tdef: dict, where: str) -> None:
        if value != tdef["value"]:
            self.report.add(where, f"{value!r} is not {tdef['value']!r}")

    def _StringType(self, value: Any, tdef: dict, where: str) -> None:
        if not isinstance(value, str):
            self.report.add(where, f"expected a string, got {value!r}")
            return
        if "minLength" in tdef and len(value) < tdef["minLength"]:
            self.report.add(where, f"{value!r} is shorter than {tdef['minLength']}")
        if "maxLength" in tdef and len(value) > tdef["maxLength"]:
            self.report.add(where, f"{value!r} is longer than {tdef['maxLength']}")
        pattern = tdef.get("pattern")
        if pattern:
            try:
                ok = re.search(pattern, value) is not None
            except re.error:
                ok = True  # a .NET-only construct: leave it to Azure
            if not ok:
                self.report.add(where, f"{value!r} does not match {pattern}")

    def _IntegerType(self, value: Any, tdef: dict, where: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.report.add(where, f"expected an integer, got {value!r}")
            return
        if "minValue" in tdef and value < tdef["minValue"]:
            self.report.add(where, f"{value} is below the minimum {tdef['minValue']}")
        if "maxValue" in tdef and value > tdef["maxValue"]:
            self.report.add(where, f"{value} is above the maximum {tdef['maxValue']}")

    def _BooleanType(self, value: Any, tdef: dict, where: str) -> None:
        if not isinstance(value, bool):
            self.report.add(where, f"expected a bool, got {value!r}")


def _similarity(a: str, b: str) -> float:
    from difflib import SequenceMatcher
    return SequenceMatcher(None, a.lower(), b.lower()).ratio()


def check_file(bf: bm.BicepFile, report: Report | None = None, types: Types | None = None) -> Report:
    report = report or Report()
    types = types or Types(azure_types())
    scope = bm.Scope(bf, defaults=True, fold_ternaries=False)
    for res in bf.resources.values():
        where = f"{bf.path.name}:{res.symbol}"
        report.resources += 1
        body_type = types.resource_body(res.type, res.api_version)
        if body_type is None:
            known = types.versions.get(res.type.lower())
            report.add(where, f"{res.type}@{res.api_version}: no such resource type at this API version"
                              + (f" (known: {', '.join(known[-4:])})" if known else " (unknown type)"))
            continue
        if res.existing:
            continue
        Checker(types, report, scope).root(scope.eval(res.body), body_type, where)
    for mod in bf.modules.values():
        if mod.path.startswith("br/public:"):
            check_avm_call(mod, scope, report)
    return report


# --- AVM modules ---------------------------------------------------------------------------------------

def avm_module(ref: str) -> dict | None:
    return avm_modules()["modules"].get(ref)


def _arm_param_problems(value: Any, spec: dict, defs: dict, where: str, out: list[str]) -> None:
    if "$ref" in spec:
        spec = {**defs[spec["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in spec.items() if k != "$ref"}}
    if isinstance(value, bm.Expr):
        return
    allowed = spec.get("allowedValues")
    if allowed is not None and not isinstance(value, (list, dict)) and value not in allowed:
        out.append(f"{where}: {value!r} is not one of {allowed}")
    kind = spec.get("type")
    expected = {"string": str, "int": int, "bool": bool, "array": list, "object": dict}.get(kind or "")
    if value is not None and expected and (not isinstance(value, expected)
                                            or (expected is int and isinstance(value, bool))):
        out.append(f"{where}: expected {kind}, got {value!r}")
        return
    if isinstance(value, list) and "items" in spec:
        for i, v in enumerate(value):
            _arm_param_problems(v, spec["items"], defs, f"{where}[{i}]", out)
    if isinstance(value, dict) and "properties" in spec:
        props = spec["properties"]
        for k, v in value.items():
            if k not in props:
                out.append(f"{where}.{k}: no such property (known: {', '.join(sorted(props))})")
            else:
                _arm_param_problems(v, props[k], defs, f"{where}.{k}", out)
        for k, p in props.items():
            if k not in value and not p.get("nullable") and "defaultValue" not in p:
                out.append(f"{where}.{k}: required property missing")


def check_avm_call(mod: bm.Module, scope: bm.Scope, report: Report) -> None:
    ref = mod.path[len("br/public:"):]
    where = f"{scope.file.path.name}:{mod.symbol}"
    spec = avm_module(ref)
    if spec is None:
        report.add(where, f"{ref}: no vendored definition (unknown module or version)")
        return
    params = spec["parameters"]
    given = scope.eval(mod.params)
    for name, value in given.items():
        report.keys += 1
        if name not in params:
            report.add(f"{where}.params.{name}", f"no such parameter of {ref}")
            continue
        out: list[str] = []
        _arm_param_problems(value, params[name], spec["definitions"], f"{where}.params.{name}", out)
        report.problems.extend(out)
    for name, p in params.items():
        if name not in given and "defaultValue" not in p and not p.get("nullable"):
            report.add(f"{where}.params.{name}", f"required parameter of {ref} missing")
