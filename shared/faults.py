"""Fault injection for local runs and tests (FAULT_INJECTION setting; refused in Azure by the settings).

A plan is a JSON list of rules, each {"port": "documents|secrets|backups", "op": "<method>", "after": N,
"times": K, "mode": "unavailable|crash|partial", "keep": M}: the rule skips its first N matching calls, then
fires K times. `unavailable` raises DependencyUnavailable; `crash` ends the process at once (like kill -9);
`partial` (write_set only) writes the first M documents, then crashes the process. For write_set, an optional
"doc_type" makes the rule see only write sets holding a document of that type (the blob function and the
timer write too, and must not use up a rule meant for a migration).
"""
from __future__ import annotations

import json
import os
from typing import Any

from .ports import DependencyUnavailable


class _Rule:
    def __init__(self, spec: dict):
        self.port, self.op = spec["port"], spec["op"]
        self.after, self.times = int(spec.get("after", 0)), int(spec.get("times", 1))
        self.mode, self.keep = spec.get("mode", "unavailable"), int(spec.get("keep", 0))
        self.doc_type = spec.get("doc_type")
        self.seen = 0

    def fires(self, args: tuple) -> bool:
        if self.doc_type and not any(d.get("type") == self.doc_type for d in (args[1] if len(args) > 1 else ())):
            return False
        self.seen += 1
        return self.after < self.seen <= self.after + self.times


class FaultyPort:
    def __init__(self, inner: Any, name: str, rules: list[_Rule]):
        self._inner, self._name, self._rules = inner, name, [r for r in rules if r.port == name]

    def __getattr__(self, op: str) -> Any:
        target = getattr(self._inner, op)
        rules = [r for r in self._rules if r.op == op]
        if not rules or not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            for rule in rules:
                if rule.fires(args):
                    if rule.mode == "partial" and op == "write_set":
                        pk, upserts = args[0], list(args[1])
                        await target(pk, upserts[:rule.keep], ())
                        os._exit(137)
                    if rule.mode == "crash":
                        os._exit(137)
                    raise DependencyUnavailable(f"injected fault in {self._name}.{op}", retry_after=1)
            return await target(*args, **kwargs)
        return call


def wrap(ports: Any, plan: str) -> Any:
    rules = [_Rule(spec) for spec in json.loads(plan)]
    for name in ("documents", "secrets", "backups"):
        setattr(ports, name, FaultyPort(getattr(ports, name), name, rules))
    return ports
