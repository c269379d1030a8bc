"""The ops page (client/ops/) in headless Chromium against the local host, served from another origin.

Seeded over HTTP: three tenants, one failed attempt (an injected backup outage), quarantined keys, a
validation fault planted in the store, and an emergency rollback. The page must show the API's figures,
draw every chart, switch the rollout and the rollback of a tenant, escape server text, and say clearly when
the token is refused or the API cannot be reached.
"""
from __future__ import annotations

import functools
import http.server as http_server
import json
import threading
import time
from urllib.parse import quote

import pytest

from shared.settings import PROJECT_ROOT

from ..helpers import DevHostProcess, dev_env, free_port, http, load_fixture, settings_from, token
from .browser_support import CHROMIUM_ARGS
from .ops_page_support import ADMIN_ROLE, Page, Seeded, Static, check_png, migrate, sample_pixels

pytestmark = pytest.mark.e2e

CLIENT_DIR = PROJECT_ROOT / "client"
SCREENSHOT = PROJECT_ROOT / "artifacts" / "screenshots" / "ops-page.png"

# (tenant, user); the fifth migrate call meets the injected backup outage: northwind/u1 fails once, then
# succeeds on retry.
USERS = [("contoso", "u1"), ("contoso", "u2"), ("fabrikam", "u1"), ("fabrikam", "u2"), ("northwind", "u1"),
         ("contoso", "u3")]
FAULTS = json.dumps([{"port": "backups", "op": "write", "after": 4, "times": 1, "mode": "unavailable"}])
UNKNOWN_KEYS = {"app_version": "4.2.1", "recent_searches": json.dumps(["cosmos", "vault"])}
HOSTILE_TENANT = '<img src=x onerror="window.__xss=1">&amp;"t\''


# --- the browser and the second origin --------------------------------------------------------------------

@pytest.fixture(scope="module")
def ops_browser(chromium_path):  # chromium_path: tests/e2e/browser_support.py (fails in CI if missing)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def client_origin():
    server = http_server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Static, directory=str(CLIENT_DIR)))
    threading.Thread(target=server.serve_forever, name="ops-static", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def open_page(ops_browser):
    pages: list[Page] = []

    def make() -> Page:
        pages.append(Page(ops_browser))
        return pages[-1]
    yield make
    for p in pages:
        p.close()


# --- the seeded host --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded(tmp_path_factory, client_origin):
    tmp = tmp_path_factory.mktemp("ops-page")
    env = dev_env(tmp / "data", CORS_ALLOWED_ORIGINS=client_origin, SWEEP_SAMPLE_SIZE="0")
    settings = settings_from(env)
    host = DevHostProcess({**env, "FAULT_INJECTION": FAULTS}, tmp / "host.log").start()
    s = Seeded(host, env, settings, client_origin)
    try:
        for i, (tenant, user) in enumerate(USERS):
            data = load_fixture("typical", tenant, user, seed=i + 1)
            if (tenant, user) == ("contoso", "u1"):
                data.update(UNKNOWN_KEYS)                            # quarantined: unknown_key
            if (tenant, user) == ("fabrikam", "u2"):
                data["ai_agents_fabrikam"] = '[{"id": "agent_1", "name": '  # quarantined: invalid_json
            code, body = migrate(s, tenant, user, data)
            if (tenant, user) == ("northwind", "u1"):
                assert (code, body["code"]) == (503, "DEPENDENCY_UNAVAILABLE"), body
                code, body = migrate(s, tenant, user, data)
            assert code == 200, body
        # A planted validation fault: one of fabrikam/u2's messages disappears from the store.
        s.sql("DELETE FROM docs WHERE tenant='fabrikam' AND user='u2' AND id = "
              "(SELECT id FROM docs WHERE tenant='fabrikam' AND user='u2' AND type='chat_message' LIMIT 1)")
        code, state, _ = http("POST", host.base + "/migration/admin/tenants/fabrikam/rollback", bearer=s.admin)
        assert code == 200 and state["rollback_active"] is True
        # The host verifies each backup when its blob lands (polling): wait so the figures are settled.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            verified = sum(json.loads(b).get("backups_verified", 0)
                           for (b,) in s.sql("SELECT body FROM docs WHERE type='counters'"))
            if verified == len(USERS):
                break
            time.sleep(0.2)
        assert verified == len(USERS)
        yield s
    finally:
        host.stop()


# --- the tests --------------------------------------------------------------------------------------------

def wait_loaded(page, loads: int) -> None:
    page.wait_for_selector(f'#ops-app[data-state="ready"][data-loads="{loads}"]', state="attached")


def attr_list(page, selector: str, name: str) -> list[str]:
    return page.eval_on_selector_all(selector, "(els, name) => els.map(e => e.getAttribute(name))", name)


def drawn_areas(page, selector: str) -> list[float]:
    return page.eval_on_selector_all(selector, "els => els.map(e => { const b = e.getBBox(); "
                                               "return b.width * b.height; })")


def row(tenant: str) -> str:
    return f'#tenants-body tr[data-tenant={json.dumps(tenant)}]'


def test_ops_page_shows_the_api_figures_and_switches_tenants(open_page, seeded):
    p = open_page()
    page = p.page
    seeded.sign_in(page, seeded.admin)
    wait_loaded(page, 1)
    assert page.is_visible('[data-testid="validation-empty"]')  # no sweep has run yet

    page.click("#btn-sweep")
    page.wait_for_selector('#sweep-status[data-state="done"]')
    wait_loaded(page, 2)
    assert page.locator("#ops-error").is_hidden(), page.inner_text("#ops-error")
    metrics = seeded.get("/migration/admin/metrics")
    reports = seeded.get("/migration/admin/validation")["reports"]
    tenants = {t["tenant_id"]: t for t in seeded.get("/migration/admin/tenants")["tenants"]}

    # The sweep the page ran is the one the API now serves.
    assert page.get_attribute("#computed-at", "data-computed-at") == metrics["computedAt"]
    assert page.get_attribute("#sweep-status", "data-users-checked") == str(reports[0]["users_checked"])

    # Key figures, as the API reports them.
    assert metrics["users_migrated"] == metrics["total_users"] == len(USERS)
    for key, value in [("total_users", metrics["total_users"]), ("users_migrated", metrics["users_migrated"]),
                       ("migration_success_rate", metrics["migration_success_rate"]),
                       ("average_migration_time", metrics["performance_metrics"]["average_migration_time"]),
                       ("peak_migration_load", metrics["performance_metrics"]["peak_migration_load"]),
                       ("request_charge_per_migration", metrics["performance_metrics"]["request_charge_per_migration"]),
                       ("tenants", metrics["tenants"])]:
        assert float(page.get_attribute(f"#kpi-{key}", "data-value")) == value, key
    assert page.inner_text("#kpi-users_migrated .kpi-value") == str(metrics["users_migrated"])
    assert page.inner_text("#kpi-migration_success_rate .kpi-value") == \
        f"{metrics['migration_success_rate'] * 100:.1f}%"

    # Every chart drew marks, and the marks carry the API's numbers.
    per_hour = sum(h["count"] for h in metrics["migrations_per_hour"])
    assert per_hour == len(USERS)
    assert sum(int(c) for c in attr_list(page, "#chart-timeline svg rect.bar", "data-count")) == per_hour
    assert page.locator("#chart-timeline svg path.trend").count() == 1
    counts = metrics["counts"]
    assert (counts["completions"], counts["failures"]) == (len(USERS), 1)
    assert dict(zip(attr_list(page, "#chart-success svg path.segment", "data-key"),
                    map(int, attr_list(page, "#chart-success svg path.segment", "data-value")), strict=True)) == \
        {"completions": counts["completions"], "failures": counts["failures"]}
    for chart, expected in [("chart-records", metrics["records_by_type"]),
                            ("chart-errors", metrics["error_breakdown"]),
                            ("chart-quarantine", metrics["quarantine_breakdown"])]:
        bars = dict(zip(attr_list(page, f"#{chart} svg rect.bar", "data-key"),
                        map(int, attr_list(page, f"#{chart} svg rect.bar", "data-value")), strict=True))
        assert bars == {k: v for k, v in expected.items() if v}, chart
    assert metrics["error_breakdown"] == {"DEPENDENCY_UNAVAILABLE": 1}
    assert metrics["quarantine_breakdown"] == {"unknown_key": 2, "invalid_json": 1}
    for selector in ("#chart-timeline svg rect.bar", "#chart-success svg path.segment",
                     "#chart-records svg rect.bar", "#chart-errors svg rect.bar", "#chart-quarantine svg rect.bar"):
        areas = drawn_areas(page, selector)
        assert areas and all(a > 0 for a in areas), selector
    assert page.locator(".chart svg[data-empty]").count() == 0

    # The seed's success criteria against their targets, and two judged by the latest validation.
    criteria = metrics["success_criteria"]
    as_attr = {True: "true", False: "false", None: "none"}
    for key, c in criteria.items():
        assert page.get_attribute(f'li[data-criterion="{key}"]', "data-met") == as_attr[c["met"]], key
        assert float(page.get_attribute(f'li[data-criterion="{key}"]', "data-target")) == c["target"]
        shown = page.get_attribute(f'li[data-criterion="{key}"]', "data-value")
        assert (float(shown) if shown else None) == c["value"], key
    assert criteria["error_rate"]["met"] is False and criteria["completion_rate"]["met"] is True
    assert criteria["backup_success"]["met"] is True
    assert page.inner_text('li[data-criterion="error_rate"] [data-testid="criterion-badge"]') == "Not met"
    assert page.inner_text('li[data-criterion="completion_rate"] [data-testid="criterion-badge"]') == "Met"
    assert page.get_attribute('li[data-criterion="data_integrity"]', "data-met") == "false"
    assert page.get_attribute('li[data-criterion="tenant_isolation"]', "data-met") == "true"

    # Tenants: state and counts per tenant; the flagged tenant shows its rollback.
    assert set(attr_list(page, "#tenants-body tr", "data-tenant")) == set(tenants) == {"contoso", "fabrikam",
                                                                                       "northwind"}
    for name, t in tenants.items():
        r = row(name)
        assert page.get_attribute(r, "data-rollback-active") == str(t["rollback_active"]).lower()
        assert page.inner_text(f'{r} [data-testid="tenant-users"]') == str(t["users_started"])
        assert page.inner_text(f'{r} [data-testid="tenant-completions"]') == str(t["completions"])
        assert page.inner_text(f'{r} [data-testid="tenant-failures"]') == str(t["failures"])
    assert tenants["fabrikam"]["rollback_active"] is True and tenants["northwind"]["failures"] == 1
    assert page.inner_text(f'{row("fabrikam")} [data-testid="tenant-state"]') == "Rollback active"
    assert page.is_visible(f'{row("fabrikam")} [data-testid="rollback-lift"]')

    # Validation: the latest report, with the planted fault's issues.
    latest = reports[0]
    assert latest["success"] is False and latest["issues_found"]
    first = page.locator('[data-testid="validation-report"]').first
    assert first.get_attribute("data-success") == "false"
    assert first.get_attribute("data-users-checked") == str(latest["users_checked"])
    issue_rows = first.locator('[data-testid="validation-issue"]')
    assert issue_rows.count() == len(latest["issues_found"])
    assert [issue_rows.nth(i).get_attribute("data-type") for i in range(issue_rows.count())] == \
        [i["type"] for i in latest["issues_found"]]
    assert {i["data"]["userId"] for i in latest["issues_found"]} == {"u2"}
    assert latest["issues_found"][0]["description"] in first.inner_text()

    # The screenshot: a real PNG of a drawn page, not a blank or one-colour image.
    page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True, animations="disabled")
    width, height = check_png(SCREENSHOT)
    assert width == 1280 and height >= 900 and SCREENSHOT.stat().st_size > 40_000
    pixels = sample_pixels(page, SCREENSHOT)
    assert len({tuple(px) for px in pixels}) >= 8
    assert any(px[2] > px[0] + 60 for px in pixels)  # some of the blue of the charts and the buttons

    # The rollout override, from the page, changes what the tenant's users are told.
    assert seeded.status("contoso", "u1")["migration_enabled"] is True
    page.click(f'{row("contoso")} [data-testid="rollout-off"]')
    page.wait_for_selector(f'{row("contoso")}[data-override="false"][data-migration-enabled="false"]')
    assert seeded.status("contoso", "u1")["migration_enabled"] is False
    assert page.inner_text(f'{row("contoso")} [data-testid="tenant-state"]') == "Not enabled"
    page.click(f'{row("contoso")} [data-testid="rollout-on"]')
    page.wait_for_selector(f'{row("contoso")}[data-override="true"][data-migration-enabled="true"]')
    assert seeded.status("contoso", "u1")["migration_enabled"] is True
    page.click(f'{row("contoso")} [data-testid="rollout-default"]')
    page.wait_for_selector(f'{row("contoso")}[data-override="null"]')
    assert {t["tenant_id"]: t for t in seeded.get("/migration/admin/tenants")["tenants"]}["contoso"][
        "rollout_override"] is None

    # The rollback, behind a confirmation: cancel changes nothing, confirm starts it; lift the other one.
    page.click(f'{row("northwind")} [data-testid="rollback-start"]')
    page.wait_for_selector("#confirm-dialog[open]")
    assert page.inner_text("#confirm-tenant") == "northwind"
    page.click("#confirm-cancel")
    page.wait_for_selector("#confirm-dialog:not([open])", state="attached")
    assert seeded.status("northwind", "u1")["rollback_active"] is False
    page.click(f'{row("northwind")} [data-testid="rollback-start"]')
    page.click("#confirm-ok")
    page.wait_for_selector(f'{row("northwind")}[data-rollback-active="true"]')
    assert seeded.status("northwind", "u1")["rollback_active"] is True
    page.click(f'{row("fabrikam")} [data-testid="rollback-lift"]')
    page.click("#confirm-ok")
    page.wait_for_selector(f'{row("fabrikam")}[data-rollback-active="false"]')
    assert seeded.status("fabrikam", "u1")["rollback_active"] is False
    assert page.is_visible('[data-testid="ops-notice"]')

    # Server text is text: a hostile tenant id is shown verbatim, runs nothing, and its buttons still work.
    code, _, _ = http("PUT", f"{seeded.host.base}/migration/admin/tenants/{quote(HOSTILE_TENANT, safe='')}/rollout",
                      {"enabled": False}, bearer=seeded.admin)
    assert code == 200
    page.click("#btn-refresh")
    wait_loaded(page, 3)
    hostile = row(HOSTILE_TENANT)
    assert page.inner_text(f"{hostile} td.tenant-id code") == HOSTILE_TENANT
    assert page.locator("#tenants-table img").count() == 0
    page.click(f'{hostile} [data-testid="rollout-on"]')
    page.wait_for_selector(f'{hostile}[data-override="true"]')
    assert page.evaluate("() => window.__xss") is None
    listed = {t["tenant_id"]: t for t in seeded.get("/migration/admin/tenants")["tenants"]}
    assert listed[HOSTILE_TENANT]["rollout_override"] is True

    assert page.locator("#ops-error").is_hidden()
    assert p.errors == []


def test_non_admin_token_shows_forbidden(open_page, seeded):
    p = open_page()
    page = p.page
    seeded.sign_in(page, token(seeded.settings, "contoso", "u1"))  # a valid user token, without the role
    page.wait_for_selector('#ops-app[data-state="error"]')
    error = page.locator("#ops-error")
    assert error.is_visible()
    assert (error.get_attribute("data-status"), error.get_attribute("data-code")) == ("403", "FORBIDDEN")
    assert "Forbidden (403)" in page.inner_text("#ops-error-title")
    assert "Migration.Admin" in page.inner_text("#ops-error-detail")
    assert "AUTH_ADMIN_TENANTS" in page.inner_text("#ops-error-detail")
    assert page.locator("#dashboard").is_hidden()
    assert page.locator("#tenants-body tr").count() == 0
    page.screenshot(path=str(SCREENSHOT.with_name("ops-page-403.png")), full_page=True)
    assert not [e for e in p.errors if "pageerror" in e]  # the refused requests are logged, nothing threw


def test_bad_token_and_unreachable_api_are_explained(open_page, seeded):
    p = open_page()
    page = p.page
    expired = token(seeded.settings, "ops", "admin-1", roles=ADMIN_ROLE, ttl=-120)
    seeded.sign_in(page, expired)
    page.wait_for_selector('#ops-app[data-state="error"]')
    assert page.get_attribute("#ops-error", "data-status") == "401"
    assert page.get_attribute("#ops-error", "data-code") == "AUTH_REQUIRED"
    assert "Not authenticated (401)" in page.inner_text("#ops-error-title")

    # Fix the token in the form: the dashboard loads and the error goes away.
    page.fill("#cfg-token", seeded.admin)
    page.click("#btn-connect")
    page.wait_for_selector('#ops-app[data-state="ready"]')
    assert page.locator("#ops-error").is_hidden() and page.locator("#dashboard").is_visible()

    nowhere = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    seeded.sign_in(page, seeded.admin, api=nowhere)
    page.wait_for_selector('#ops-app[data-state="error"]')
    assert page.get_attribute("#ops-error", "data-code") == "NETWORK_ERROR"
    assert "Cannot reach the API" in page.inner_text("#ops-error-title")
    assert nowhere in page.inner_text("#ops-error-detail")
    assert not [e for e in p.errors if "pageerror" in e]


def test_a_token_in_the_url_is_never_used_and_the_sign_in_stays_in_the_tab(open_page, seeded):
    p = open_page()
    page = p.page
    requests: list[str] = []
    admin = seeded.admin
    page.on("request", lambda r: requests.append(r.headers.get("authorization") or ""))
    page.goto(seeded.url(token=admin))
    page.wait_for_selector("#url-token-refused", state="visible")
    assert "token=" not in page.url and page.input_value("#cfg-token") == ""
    assert page.get_attribute("#ops-app", "data-state") == "idle"
    assert not [h for h in requests if h]  # nothing was sent with it

    seeded.sign_in(page, admin)
    wait_loaded(page, 1)
    assert page.evaluate("sessionStorage.getItem('migrationOps.token')") == admin
    assert page.evaluate("Object.values(localStorage).join()").find(admin) == -1
    page.reload()  # the same tab keeps its sign-in
    wait_loaded(page, 1)
    page.click("#btn-signout")
    assert page.evaluate("sessionStorage.getItem('migrationOps.token')") is None
    assert page.get_attribute("#ops-app", "data-state") == "idle"


# Answers the real host gives only under faults (or a proxy in front of it gives), put on the metrics route; the
# page reads each through its one HTTP client (client/ops/api.js) and says what happened and what to do.
ODD_ANSWERS = [
    (503, {"Retry-After": "7"}, json.dumps({"error": "A backing service is unavailable; retry later",
                                            "code": "DEPENDENCY_UNAVAILABLE"}), "DEPENDENCY_UNAVAILABLE",
     "Retry after 7 s."),
    (503, {}, "Service Unavailable", "DEPENDENCY_UNAVAILABLE", "Retry later."),
    (500, {}, "<html>proxy error</html>", "HTTP_500", ""),
    (200, {}, "<html>a login page</html>", "BAD_RESPONSE", ""),
]


@pytest.mark.parametrize("status,headers,body,code,detail", ODD_ANSWERS,
                         ids=["503-retry-after", "503-bare", "500-not-json", "200-not-json"])
def test_every_odd_answer_is_explained(open_page, seeded, status, headers, body, code, detail):
    p = open_page()
    page = p.page
    cors = {"Access-Control-Allow-Origin": seeded.origin, "Access-Control-Expose-Headers": "Retry-After"}
    page.route("**/migration/admin/metrics", lambda route: route.fulfill(
        status=status, headers={**cors, **headers, "Content-Type": "text/plain"}, body=body))
    seeded.sign_in(page, seeded.admin)
    page.wait_for_selector("#ops-error", state="visible")
    error = page.locator("#ops-error")
    assert (error.get_attribute("data-status"), error.get_attribute("data-code")) == (str(status), code)
    assert detail in page.inner_text("#ops-error-detail")
    # The other two calls answered: their parts of the dashboard are shown.
    page.wait_for_selector('#ops-app[data-state="ready"]')
    assert page.locator('#tenants-body [data-testid="tenant-row"]').count() > 0
    assert not [e for e in p.errors if "pageerror" in e]
