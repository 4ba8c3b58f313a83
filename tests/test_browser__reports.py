"""Reports, budgets, the working-day calendar and the bell in headless Chromium, in Chinese
and in English, over a simulated year. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.test_browser__approval import ARTIFACTS, CHROMIUM, Person, browser, live_server
from workflow import budgets, notify, org, reports, simulate
from workflow import calendar as working_days

pytest_plugins = ["tests.web_fixtures"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")

YEAR = 2025
__all__ = ["browser", "live_server"]


@pytest.fixture
def history(engine, actor):
    simulate.run(engine, simulate.Params.load(simulate.builtin("small")))
    now = engine.clock.now()
    admin = actor("sta_admin")
    for department, amount in (("*", "300000.00"), ("smelting", "80000.00"),
                               ("power", "20000.00")):
        budgets.set_budget(engine.db, actor=admin, year=YEAR, department=department,
                           amount=amount, now=now)
    with engine.db.write() as conn:
        working_days.seed_from_package(conn, now=now, years=range(2024, 2026))
        working_days.set_company_day_off(conn, day=date(2025, 12, 31),
                                         note="年终盘点", now=now)
    notifier = notify.Notifier()
    for _ in range(3):
        notify.fan_out(engine.db, notifier, now=now)
        notify.deliver(engine.db, notifier, owner="browser-test", now=now)
    return reports.report(engine.db, year=YEAR, now=now)


def _part(person: Person, selector: str, name: str) -> None:
    """A screenshot of one element (the full page is too tall to read)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    person.page.locator(selector).first.screenshot(
        path=str(ARTIFACTS / f"{person.lang}-{name}.png"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__reports_budgets_calendar_and_bell(history, live_server, browser, engine,
                                                     lang):
    admin = Person(browser, live_server, lang, "sta_admin")
    page = admin.page
    page.goto(f"{live_server}/reports")
    page.select_option("select#year", str(YEAR))
    page.locator("form[action$='/reports'] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/reports?year={YEAR}")
    assert page.locator("svg.chart").count() == 3
    money = history.table("reward_money")
    decided = sum((row[3] for row in money.rows), Decimal(0))
    bars = page.locator("#chart-reward_money rect.bar")
    shown = [Decimal(bars.nth(i).get_attribute("data-value")) for i in range(bars.count())]
    assert sum(shown[0::2]) == decided
    admin.shot("20-reports")
    _part(admin, ".charts", "20a-charts")
    _part(admin, "header.top", "20b-header")
    form = page.locator("form[action$='/reports/assessment']")
    form.locator("select[name=organisation]").select_option("smelting")
    form.locator("input[name=party_score]").fill("95.5")
    form.locator("input[name=operations_score]").fill("101")
    form.locator("button[type=submit]").click()
    assert page.locator("#error-operations_score").count() == 1
    form = page.locator("form[action$='/reports/assessment']")
    form.locator("input[name=operations_score]").fill("90")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/reports?year={YEAR}#assessment")
    assert "8,595.00" in page.inner_text("#table-assessment")
    admin.shot("21-assessment")

    page.goto(f"{live_server}/admin/budgets?year={YEAR}")
    form = page.locator("form[method=post][action$='/admin/budgets']")
    form.locator("select[name=department]").select_option("alumina")
    form.locator("input[name=amount]").fill("5000.005")
    form.locator("button[type=submit]").click()
    assert page.locator("#error-amount").count() == 1
    admin.shot("22-budgets-error")
    form = page.locator("form[method=post][action$='/admin/budgets']")
    form.locator("input[name=amount]").fill("5000.00")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/admin/budgets?year={YEAR}")
    remaining = page.inner_text("#budgets tr[data-department='alumina'] [data-key=remaining]")
    status = budgets.remaining(engine.db, year=YEAR, department="alumina")
    assert remaining.replace("¥", "").replace(",", "") == f"{status.remaining:.2f}"
    admin.shot("23-budgets")

    page.goto(f"{live_server}/admin/calendar")
    assert page.locator("#missing-years").count() == 1
    admin.shot("24-calendar")
    page.goto(f"{live_server}/admin")
    admin.shot("25-admin")

    unread = int(page.inner_text("#bell-count"))
    assert unread >= 1
    page.click("#bell")
    page.wait_for_url(f"{live_server}/notifications")
    assert page.locator("ul.notes li.unread").count() == min(unread, 50)
    admin.shot("26-notifications")
    _part(admin, "main", "26a-notifications-list")
    page.locator("form[action$='/notifications/read'] button").click()
    page.wait_for_url(f"{live_server}/notifications")
    assert page.locator("#bell-count").count() == 0
    expected = "status of 422"  # the two forms refused on purpose above
    assert sum(expected in e for e in admin.errors) == 2
    admin.errors = [e for e in admin.errors if expected not in e]
    admin.close()

    with engine.db.read() as conn:
        assert org.get_user(conn, "finance") is not None
    finance = Person(browser, live_server, lang, "finance")
    finance.page.goto(f"{live_server}/admin/budgets?year={YEAR}")
    assert finance.page.locator("form[method=post]").count() == 2  # language switch, logout
    finance.shot("27-budgets-finance")
    finance.close()
