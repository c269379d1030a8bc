"""What one request may cost (README "Bounds"): keys over their share are kept whole, totals over a limit are
413 with nothing written, warnings are counted not listed, previews wait for a migration slot."""
from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio

from migration import app_services

from ..conftest import STACKS, serving, stack_env
from ..helpers import call, load_fixture, settings_from
from .test_migration_functions import documents, export, migrate, status

LIMITS = {"MAX_ITEMS_PER_KEY": "50", "MAX_DOCUMENTS_PER_MIGRATION": "400", "MAX_SECRETS_PER_MIGRATION": "40",
          "MAX_KEYS_PER_MIGRATION": "60"}


@pytest_asyncio.fixture(params=STACKS)
async def small(request, tmp_path):
    async with serving(request.param, settings_from(stack_env(request, request.param, tmp_path, **LIMITS))) as s:
        yield s


# Keys whose items would exceed the share of one key (50): each is kept whole, never exploded, never lost.
OVER_SHARE = {
    "chat_session_flood": json.dumps([0] * 51),
    "chat_session_flood_obj": json.dumps({"title": "t", "messages": [{"content": str(i)} for i in range(60)]}),
    "ai_agents_contoso": json.dumps([{}] * 51),
    "user_llm_configs_contoso": json.dumps({f"c{i}": {"apiKey": f"sk-{i:030d}"} for i in range(51)}),
}


@pytest.mark.parametrize("key", list(OVER_SHARE))
async def test_a_key_over_its_share_is_kept_whole(small, key):
    data = {key: OVER_SHARE[key], "theme": "dark"}
    code, resp, _ = await migrate(small, data)
    assert code == 200, resp
    result = resp["data"]
    assert {"key": key, "reason": "too_many_items"} in result["quarantined"]
    assert result["manifest"]["quarantined"] == 1 and result["manifest"]["migrated"] == 1
    assert len(await documents(small)) < 10  # not one document per item
    code, package, _ = await export(small)
    assert code == 200 and package["rollback_data"][key] == data[key]  # the exact text comes back


@pytest.mark.parametrize("data,code", [
    ({f"chat_session_s{i}": json.dumps([{"content": "x"}] * 40) for i in range(12)}, "TOO_MANY_DOCUMENTS"),
    ({f"unknown_{i}": "v" for i in range(61)}, "TOO_MANY_KEYS"),
    ({"ai_agents_contoso": json.dumps([{"pwd": i} for i in range(41)])}, "TOO_MANY_SECRETS"),
    ({"user_llm_configs_contoso": json.dumps([{"apiKey": f"k{i}", "endpoint": f"https://e{i}"}
                                                for i in range(21)])}, "TOO_MANY_SECRETS"),
])
async def test_a_request_over_a_total_is_413_and_writes_nothing(small, data, code):
    for route in ("migration_preview", "migrate_localstorage"):
        status_code, resp, _ = await call(route, "POST", {"localStorage_data": data}, bearer=small.token())
        assert (status_code, resp["code"]) == (413, code), resp
        assert resp["limit"] > 0 and set(resp) == {"error", "code", "limit"}
    assert (await status(small))["migration_status"] == "not_started"
    assert await documents(small) == []
    assert await small.services.ports.documents.find("counters", tenant_id="contoso") == []


async def test_warnings_are_counted_and_only_the_first_are_listed(small):
    data = {"ai_agents_contoso": json.dumps(["junk"] * 45 + [{"id": "ok"}])}
    code, resp, _ = await migrate(small, data)
    assert code == 200, resp
    result = resp["data"]
    assert result["warnings_total"] == 45 and len(result["warnings"]) == 20
    assert len(json.dumps(resp)) < 8_000
    code, package, _ = await export(small)
    assert json.loads(package["rollback_data"]["ai_agents_contoso"]) == json.loads(data["ai_agents_contoso"])


async def test_the_typical_fixture_fits_the_default_limits(stack):
    data = load_fixture("typical")
    code, resp, _ = await migrate(stack, data)
    assert code == 200 and resp["data"]["quarantined"] == [], resp["data"]["quarantined"]


async def test_previews_wait_for_a_migration_slot(tmp_path):
    """Previews plan the whole payload in memory, like migrations: MIGRATION_CONCURRENCY bounds both."""
    from ..helpers import dev_env
    settings = settings_from(dev_env(tmp_path / "data", MIGRATION_CONCURRENCY="1"))
    services = app_services.build(settings)
    app_services.use(services)
    try:
        svc = services.migration
        running, peak = 0, 0
        original = svc._plan  # noqa: SLF001 - counting the plans running at once

        def counting_plan(*a, **kw):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                import time
                time.sleep(0.05)
                return original(*a, **kw)
            finally:
                running -= 1
        svc._plan = counting_plan  # noqa: SLF001
        data = load_fixture("typical", sessions=2)
        results = await asyncio.gather(*(svc.preview("contoso", f"u{i}", data) for i in range(4)),
                                       svc.migrate("contoso", "u9", data))
        assert all(r["success"] for r in results) and peak == 1
    finally:
        app_services.use(None)
        await services.close()

