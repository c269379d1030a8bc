"""Failures on the way: a retryable error state that leaves localStorage untouched, and a retry that succeeds."""
from __future__ import annotations

import json

import pytest

from ..helpers import json_equal_or_same, load_fixture
from .browser_support import screenshot, seed_storage, storage_snapshot, wait_state

pytestmark = pytest.mark.e2e

# One injected outage of the secret store, mid-way through the first migrate (after the backup is written).
# Not documents.write_set: the blob-trigger and timer functions of the same host also call write_set, and
# one of them could consume the single fault first.
ONE_OUTAGE = json.dumps([{"port": "secrets", "op": "set", "mode": "unavailable", "times": 1}])


def assert_exported(api, data: dict[str, str]) -> None:
    code, package = api.export()
    assert code == 200
    sent = {k: v for k, v in data.items() if k != "auth_token"}
    assert set(package["rollback_data"]) == set(sent)
    assert [k for k, v in sent.items() if not json_equal_or_same(v, package["rollback_data"][k])] == []


def open_ready(api, new_page, static_origin, data, **params):
    page, console = new_page()
    page.goto(f"{static_origin}/demo/index.html")
    seed_storage(page, data)
    page.goto(api.demo_url(**params))
    wait_state(page, "ready")
    return page, console


def test_503_mid_way_shows_retryable_error_then_retry_succeeds(local_api, new_page, static_origin):
    api = local_api.start(FAULT_INJECTION=ONE_OUTAGE)
    data = load_fixture("typical")
    page, _ = open_ready(api, new_page, static_origin, data, retry=1)  # no automatic retry: show the error
    before = storage_snapshot(page)

    page.click("#btn-migrate")
    wait_state(page, "error", code="DEPENDENCY_UNAVAILABLE", retryable="true")
    assert page.is_visible("#btn-retry") and page.is_visible("#btn-skip")
    assert "HTTP 503" in page.inner_text("#error-code")
    screenshot(page, "demo-04-error")
    assert storage_snapshot(page) == before  # nothing marked, nothing removed
    assert api.status()["migration_status"] == "failed"
    assert api.migrate_codes() == [503]

    page.click("#btn-retry")
    wait_state(page, "success", outcome="migrated")
    assert api.migrate_codes() == [503, 200]
    assert storage_snapshot(page)["migration_completed"] == "true"
    assert_exported(api, data)
    docs, record = api.database()
    assert record["attempt"] == 2 and len(docs) == len({d["id"] for d in docs}) == record["documentCount"]


def test_503_is_retried_automatically_honouring_retry_after(local_api, new_page, static_origin):
    api = local_api.start(FAULT_INJECTION=ONE_OUTAGE)
    data = load_fixture("typical")
    page, _ = open_ready(api, new_page, static_origin, data, retry=3, retryDelay=100)
    page.click("#btn-migrate")
    # The host answers Retry-After: 1, so the client waits ~1 s in the retrying phase: catchable.
    wait_state(page, "in-progress", phase="retrying")
    screenshot(page, "demo-02-in-progress-retrying")
    wait_state(page, "success", outcome="migrated")
    events = page.evaluate("() => window.migrationDemo.events")
    assert events == ["collecting", "sending", "retrying", "completed"], events
    assert api.migrate_codes() == [503, 200]
    assert_exported(api, data)


def test_server_down_shows_retryable_error_then_retry_succeeds(local_api, new_page, static_origin):
    api = local_api.start()
    data = load_fixture("typical")
    page, _ = open_ready(api, new_page, static_origin, data, retry=1)
    before = storage_snapshot(page)

    api.stop()
    page.click("#btn-migrate")
    wait_state(page, "error", code="NETWORK_ERROR", retryable="true")
    screenshot(page, "demo-04b-error-server-down")
    assert storage_snapshot(page) == before

    api.restart()
    assert api.status()["migration_status"] == "not_started"  # nothing reached the server
    page.click("#btn-retry")
    wait_state(page, "success", outcome="migrated")
    assert storage_snapshot(page)["migration_completed"] == "true"
    assert_exported(api, data)


def test_skip_after_error_sets_the_seed_flag_and_keeps_data(local_api, new_page, static_origin):
    api = local_api.start(FAULT_INJECTION=ONE_OUTAGE)
    data = load_fixture("typical")
    page, _ = open_ready(api, new_page, static_origin, data, retry=1)
    page.click("#btn-migrate")
    wait_state(page, "error", retryable="true")
    page.click("#btn-skip")
    wait_state(page, "skipped")
    assert page.is_hidden("#migration-modal")
    store = storage_snapshot(page)
    assert store == {**data, "migration_skipped": "true", "migration_browser_id": store["migration_browser_id"]}
    page.reload()  # a skipped migration is not forced on the next load
    wait_state(page, "skipped")
    assert api.migrate_codes() == [503]
