"""The proposer's own screens in headless Chromium, in Chinese and in English: the login page,
the profile (API tokens, delegations, password), My items and the other submission forms.
Screenshots go to test-artifacts/browser/, numbered from 30 to 42."""

from __future__ import annotations

import pytest

from tests.factories import establish, make_instance
from tests.test_browser__approval import (
    CHROMIUM,
    LOCALES,
    PASSWORD,
    Person,
    browser,
    live_server,
)
from workflow import logins

pytest_plugins = ["tests.web_fixtures"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")

__all__ = ["browser", "live_server"]

REFUSED = {"zh": "用户名或密码错误。", "en": "Wrong username or password."}
SUBSTITUTE = {"zh": "受托人（用户名）", "en": "Substitute (username)"}
STARTS = {"zh": "开始", "en": "Starts"}
ENDS = {"zh": "结束", "en": "Ends"}
PASSWORDS_DIFFER = {"zh": "两次输入的新密码不一致。再次输入新密码：不一致。",
                    "en": "The two new passwords are not the same. "
                          "Repeat the new password: does not match."}
NEW_PASSWORD = "changed-in-browser"


def refused_statuses(person: Person, status: int, count: int) -> None:
    """The console reports every refused request; those made on purpose are taken out."""
    expected = f"status of {status}"
    assert sum(expected in e for e in person.errors) == count
    person.errors = [e for e in person.errors if expected not in e]


class Visitor(Person):
    """Someone at the login page, not yet logged in."""

    def __init__(self, browser, base: str, lang: str) -> None:
        self.base = base
        self.lang = lang
        self.context = browser.new_context(locale=LOCALES[lang][0],
                                           viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__login_refuses_a_wrong_password_in_the_page_language(live_server, browser,
                                                                      lang):
    visitor = Visitor(browser, live_server, lang)
    page = visitor.page
    page.goto(f"{live_server}/mine")
    assert page.url == f"{live_server}/auth/login?next=/mine"
    visitor.shot("30-login")
    page.fill("input[name=username]", "demo_proposer")
    page.fill("input[name=password]", "not-the-password")
    page.click("form button.primary")
    assert page.inner_text(".flash.error") == REFUSED[lang]
    assert page.input_value("input[name=username]") == "demo_proposer"
    visitor.shot("31-login-refused")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(f"{live_server}/mine")
    refused_statuses(visitor, 401, 1)
    visitor.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__profile_tokens_delegation_and_password(live_server, browser, engine, lang):
    head = Person(browser, live_server, lang, "head_smelting")
    page = head.page
    page.goto(f"{live_server}/auth/profile")
    assert page.locator("p.empty").count() == 2  # no delegations, no tokens
    page.locator("form[action$='/auth/profile/token'] button").click()
    token = page.inner_text("#token").strip()
    api = head.context.request
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get(f"{live_server}/api/v1/tasks", headers=bearer).status == 200
    rows = page.locator("form[action*='/auth/profile/tokens/']")
    assert rows.count() == 1
    head.shot("32-profile-token")
    rows.first.locator("button").click()
    page.wait_for_url(f"{live_server}/auth/profile")
    assert page.locator(".flash.ok").count() == 1
    assert page.locator("form[action*='/auth/profile/tokens/']").count() == 0
    assert page.locator("table.list span.tag").count() == 1  # the row says revoked
    assert api.get(f"{live_server}/api/v1/tasks", headers=bearer).status == 401
    head.shot("33-profile-token-revoked")

    form = page.locator("form[action$='/auth/profile/delegations']")
    form.get_by_label(SUBSTITUTE[lang], exact=True).fill("demo_colleague")
    form.get_by_label(STARTS[lang], exact=True).fill("2026-11-24")
    form.get_by_label(ENDS[lang], exact=True).fill("2026-12-04")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/auth/profile")
    assert page.locator(".flash.ok").count() == 1
    row = page.locator("tr", has=page.locator("td", has_text="demo_colleague"))
    assert row.count() == 1
    head.shot("34-profile-delegation")
    row.locator("form button").click()
    page.wait_for_url(f"{live_server}/auth/profile")
    assert page.locator(".flash.ok").count() == 1
    assert row.locator("span.tag").count() == 1  # ended

    form = page.locator("form[action$='/auth/profile/password']")
    form.locator("input[name=current_password]").fill(PASSWORD)
    form.locator("input[name=new_password]").fill(NEW_PASSWORD)
    form.locator("input[name=confirm_password]").fill(NEW_PASSWORD + "!")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.url == f"{live_server}/auth/profile"  # back on the form, not an error page
    assert page.locator(".flash.error").inner_text() == PASSWORDS_DIFFER[lang]
    head.shot("35-profile-password-refused")
    form.locator("input[name=current_password]").fill(PASSWORD)
    form.locator("input[name=new_password]").fill(NEW_PASSWORD)
    form.locator("input[name=confirm_password]").fill(NEW_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/auth/profile")
    assert page.locator(".flash.ok").count() == 1
    head.shot("36-profile-password-changed")
    with engine.db.read() as conn:
        assert logins.check_password(conn, username="head_smelting", password=PASSWORD) is None
        assert logins.check_password(conn, username="head_smelting",
                                     password=NEW_PASSWORD) is not None
    head.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__my_items_withdraw_and_the_other_forms(live_server, browser, engine, actor,
                                                       lang):
    kept = make_instance(engine, actor("demo_proposer"), "suggestion",
                         title="蒸发冷凝水回收利用" if lang == "zh" else "Reuse condensate")
    dropped = make_instance(engine, actor("demo_proposer"), "suggestion",
                            title="重复提交，待撤回" if lang == "zh" else "Sent twice, to withdraw")
    proposer = Person(browser, live_server, lang, "demo_proposer")
    page = proposer.page
    page.goto(f"{live_server}/mine")
    assert page.locator("table.list tbody tr").count() == 2
    withdraw = page.locator(f"form[action$='/instances/{dropped.id}/act/withdraw']")
    assert withdraw.count() == 1
    assert page.locator(f"form[action$='/instances/{kept.id}/act/withdraw']").count() == 1
    proposer.shot("37-mine")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)  # a second thought: nothing is withdrawn
    withdraw.locator("button").click()
    assert len(asked) == 1 and dropped.title in asked[0], asked
    assert engine.get(dropped.id, actor=actor("demo_proposer")).state != "withdrawn"
    page.once("dialog", lambda dialog: dialog.accept())
    withdraw.locator("button").click()
    page.wait_for_url(f"{live_server}/mine")
    assert page.locator(".flash.ok").count() == 1
    assert page.locator(f"form[action$='/instances/{dropped.id}/act/withdraw']").count() == 0
    assert engine.get(dropped.id, actor=actor("demo_proposer")).state == "withdrawn"
    proposer.shot("38-mine-withdrawn")

    project = establish(engine, actor)
    for number, workflow in ((39, "project"), (40, "acceptance")):
        page.goto(f"{live_server}/new")
        page.click(f"a[href$='/new/{workflow}']")
        page.wait_for_url(f"{live_server}/new/{workflow}")
        assert page.locator("form.submit-form button[value=submit]").count() == 1
        if workflow == "acceptance":  # the project is picked from one's own, not typed
            picked = page.locator(f"select[name=project_id] option[value='{project.id}']")
            assert picked.inner_text() == f"#{project.id} {project.title}"
        proposer.shot(f"{number}-new-{workflow}")
    page.goto(f"{live_server}/new")
    page.click("a[href$='/new/award']")
    page.fill("input[name=title]", "配电室智能运维" if lang == "zh"
              else "Intelligent distribution room operations")
    page.select_option("select[name=kind]", "technical_innovation")
    page.select_option("select[name=department]", "power")
    page.select_option("select[name=field]", "it")
    page.fill("textarea[name=summary]", "远程监控使三个有人值守配电室合并为一个。" if lang == "zh"
              else "Remote monitoring turned three manned rooms into one.")
    page.fill("input[name=economic_benefit]", "560000.00")
    proposer.shot("41-new-award")
    page.click("button[value=submit]")
    page.wait_for_url(f"{live_server}/instances/*")
    assert page.locator(".flash.ok").count() == 1
    award_id = int(page.url.rsplit("/", 1)[-1])
    assert engine.get(award_id, actor=actor("demo_proposer")).state == "under_formal_review"
    proposer.shot("42-award-submitted")
    proposer.close()
