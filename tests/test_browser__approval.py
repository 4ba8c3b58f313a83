"""The whole path in headless Chromium, in Chinese and in English, as people would click it.

Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from werkzeug.serving import make_server

from tests.factories import EXPERTS
from workflow import org

pytest_plugins = ["tests.web_fixtures"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
PASSWORD = "demo"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")

LOCALES = {"zh": ("zh-CN", "待办"), "en": ("en-US", "Inbox")}


@pytest.fixture
def live_server(app, engine, second_admin) -> Iterator[str]:
    hashed = org.hash_password(PASSWORD)
    with engine.db.write() as conn:
        conn.execute(update(org.USERS).values(password_hash=hashed))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Person:
    def __init__(self, browser, base: str, lang: str, username: str) -> None:
        self.base = base
        self.lang = lang
        self.context = browser.new_context(locale=LOCALES[lang][0],
                                           viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.goto(f"{base}/auth/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("form button.primary")
        self.page.wait_for_url(f"{base}/inbox")
        assert LOCALES[lang][1] in self.page.inner_text("header")

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.lang}-{name}.png"), full_page=True)

    def open(self, instance_id: int) -> None:
        self.page.goto(f"{self.base}/instances/{instance_id}")

    def act(self, instance_id: int, action: str, fields: dict[str, str] | None = None,
            selects: dict[str, str] | None = None, comment: str | None = None) -> None:
        self.open(instance_id)
        form = self.page.locator(f"#action-{action}")
        for name, value in (fields or {}).items():
            form.locator(f"[name='{name}']").fill(value)
        for name, value in (selects or {}).items():
            form.locator(f"select[name='{name}']").select_option(value)
        if comment:
            form.locator("textarea[name=comment]").fill(comment)
        form.locator("button[type=submit]").click()
        self.page.wait_for_url(f"{self.base}/instances/{instance_id}")
        assert self.page.locator(".flash.ok").count() == 1, self.page.inner_text("main")

    def close(self) -> None:
        assert self.errors == []
        self.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__suggestion_from_proposal_to_paid_reward(live_server, browser, engine, actor,
                                                          lang):
    proposer = Person(browser, live_server, lang, "demo_proposer")
    page = proposer.page
    page.goto(f"{live_server}/new")
    proposer.shot("01-new")
    page.click("a[href$='/new/suggestion']")
    page.fill("input[name=title]", "蒸发冷凝水回收利用" if lang == "zh" else "Reuse condensate")
    page.select_option("select[name=category]", "small_renovation")
    page.select_option("select[name=department]", "smelting")
    page.select_option("select[name=field]", "smelting")
    page.fill("textarea[name=description]",
              "将蒸发工序冷凝水回用于锅炉给水，替代直接排放。" if lang == "zh"
              else "Route the condensate back to the boiler feed instead of draining it.")
    page.fill("input[name=expected_benefit]", "120000.00")
    page.fill("[name='team.0.username']", "demo_proposer")
    page.fill("[name='team.0.share']", "70")
    page.fill("[name='team.1.username']", "demo_colleague")
    page.fill("[name='team.1.share']", "20")
    page.click("fieldset.rows button.add-row")
    page.fill("[name='team.2.username']", "power_engineer")
    page.fill("[name='team.2.share']", "10")
    page.set_input_files("input[name=file]", files=[{
        "name": "plan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 plan"}])
    proposer.shot("02-submit-form")
    page.click("button[value=submit]")
    page.wait_for_url(f"{live_server}/instances/*")
    instance_id = int(page.url.rsplit("/", 1)[-1])
    assert page.locator("svg .node.current").count() == 1
    assert page.locator("ul.files a").count() == 1
    proposer.shot("03-submitted")

    head = Person(browser, live_server, lang, "head_smelting")
    assert head.page.inner_text("#inbox-count") == "1"
    head.shot("04-inbox")
    head.act(instance_id, "approve", comment="同意，请专家评审" if lang == "zh" else "Fine")
    for name in EXPERTS["smelting"]:
        expert = Person(browser, live_server, lang, name)
        expert.act(instance_id, "score",
                   {"innovation": "80", "feasibility": "85", "benefit": "75"})
        expert.close()
    office = Person(browser, live_server, lang, "committee_office")
    office.open(instance_id)
    office.shot("05-committee")
    office.act(instance_id, "adopt", selects={"grade": "second"})
    office.close()
    head.act(instance_id, "report_completion",
             {"completed_on": "2026-11-20", "summary": "已完成" if lang == "zh" else "Done"})
    head.close()
    finance = Person(browser, live_server, lang, "finance")
    finance.act(instance_id, "verify_benefit", {"verified_benefit": "98000.00"})
    admin = Person(browser, live_server, lang, "sta_admin")
    admin.act(instance_id, "decide_reward", {"reward_decided": "3000.00"})
    admin.shot("06-closed")
    admin.close()
    payout_id = engine.get(instance_id, actor=actor("sta_admin")).links["payout"][0]
    second = Person(browser, live_server, lang, "sta_admin_2")
    second.act(payout_id, "confirm_list")
    second.close()

    finance.page.goto(f"{live_server}/finance")
    finance.page.check(f"input[name=pick][value^='{payout_id}:']")
    finance.page.locator("form[action$='/finance/approve'] button[type=submit]").click()
    finance.page.wait_for_url(f"{live_server}/finance")
    finance.close()
    paying = Person(browser, live_server, lang, "finance_2")
    paying.page.goto(f"{live_server}/finance")
    paying.page.check(f"input[name=pick][value^='{payout_id}:']")
    paying.page.fill(f"input[name='reference-{payout_id}']", "PAY-2026-000123")
    paying.shot("07-finance")
    paying.page.locator("form[action$='/finance/confirm'] button[type=submit]").click()
    paying.page.wait_for_url(f"{live_server}/finance")
    assert paying.page.locator(".flash.ok").count() == 1
    paying.open(payout_id)
    paying.shot("08-paid")
    paying.close()
    assert engine.get(payout_id, actor=actor("finance_2")).state == "paid"
    proposer.open(instance_id)
    proposer.shot("09-proposer-sees-history")
    assert proposer.page.locator("ol.timeline li").count() >= 9
    proposer.close()
