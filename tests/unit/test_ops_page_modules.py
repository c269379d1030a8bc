"""The ops page's modules (client/ops/*.js): one HTTP client, state in one object, short modules. Static checks;
the page's behaviour is tests/e2e/test_ops_page.py."""
from __future__ import annotations

import re

from shared.settings import PROJECT_ROOT

SOURCES = {f.name: f.read_text() for f in (PROJECT_ROOT / "client" / "ops").glob("*.js")}


def test_every_call_goes_through_the_one_client():
    callers = [name for name, text in SOURCES.items() if re.search(r"\bfetch\s*\(|XMLHttpRequest|\.sendBeacon\(", text)]
    assert callers == []
    assert 'from "../migration-client.js"' in SOURCES["api.js"]  # the browser client's request, not a copy


def test_no_module_level_mutable_state():
    lets = [(name, line) for name, text in SOURCES.items() for line in text.splitlines()
            if re.match(r"(let|var)\s", line)]
    assert lets == [], "page state lives in the one object ops.js passes around"


def test_modules_stay_short():
    assert {name: n for name, text in SOURCES.items() if (n := len(text.splitlines())) > 400} == {}
