"""The one owner of the localStorage dumps that tests and benchmarks use (`generate.py` is the generator,
kept byte-identical to ../shared/fixtures/generate.py so it still runs as a script). Imports no project code, so
tests and bench both import it without a cycle."""
from __future__ import annotations

import functools
import json

from . import generate


@functools.lru_cache(maxsize=None)
def _fixture_json(profile: str, tenant: str, user: str, seed: int) -> str:
    return json.dumps(generate.dump(profile, tenant, user, seed))


def load_fixture(profile: str = "typical", tenant: str = "contoso", user: str = "user-1", seed: int = 1,
                 sessions: int | None = None) -> dict[str, str]:
    """A fresh copy of a dump; `sessions` keeps every family but only that many per-id chat sessions (fast,
    same code paths)."""
    data: dict[str, str] = json.loads(_fixture_json(profile, tenant, user, seed))
    if sessions is None:
        return data
    ids = [k for k in data if k.startswith("chat_session_") and not k.endswith("_global")]
    return {k: v for k, v in data.items() if k not in ids[sessions:]}
