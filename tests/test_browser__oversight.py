"""The auditor's and the admin's screens in headless Chromium, in Chinese and in English: the
audit search and chain, roles with scopes, failed deliveries and the error page.
Screenshots go to test-artifacts/browser/, numbered from 43 to 48."""

from __future__ import annotations

import pytest

from tests.factories import make_instance
from tests.test_browser__approval import CHROMIUM, Person, browser, live_server
from tests.test_browser__screens import refused_statuses
from workflow import audit, org

pytest_plugins = ["tests.web_fixtures"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")

__all__ = ["browser", "live_server"]

NOT_FOUND = {"zh": "未找到", "en": "Not found"}
MISSING = {"zh": "事项 999999 不存在，或您无权查看。",
           "en": "Item 999999 does not exist, or you may not see it."}
ROLE_REFUSED = {"zh": "角色未能保存。角色与范围：没有专业领域 nowhere。",
                "en": "The roles cannot be saved. Roles and scopes: no professional field nowhere."}
SMELTING = {"zh": "电解铝厂", "en": "Smelting plant"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__auditor_searches_and_checks_the_chain(live_server, browser, engine, actor,
                                                        lang):
    suggestion = make_instance(engine, actor("demo_proposer"), "suggestion")
    title = "大修渣提锂中试" if lang == "zh" else "Lithium from overhaul residue"
    project = make_instance(engine, actor("demo_proposer"), "project", title=title)
    auditor = Person(browser, live_server, lang, "auditor")
    page = auditor.page
    page.goto(f"{live_server}/audit")
    page.select_option("form.filters select[name=workflow]", "project")
    page.select_option("form.filters select[name=state]", "under_department_recommendation")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(f"{live_server}/audit?*workflow=project&state=under_department_*")
    listed = page.locator("table.list tbody tr td:first-child").all_inner_texts()
    assert listed == [str(project.id)]
    assert str(suggestion.id) not in listed
    auditor.shot("43-audit-search")

    page.click("a[href$='/audit/chain']")
    page.wait_for_url(f"{live_server}/audit/chain")
    with engine.db.read() as conn:
        checked, broken = audit.verify(conn)
    assert broken is None
    assert f"{checked}" in page.inner_text("#chain-ok")
    assert page.locator("table.list tbody tr").count() == 2
    auditor.shot("44-audit-chain")

    page.goto(f"{live_server}/instances/999999")
    assert page.locator("main h1").inner_text().startswith(NOT_FOUND[lang])
    assert page.locator("main section.card > p").first.inner_text() == MISSING[lang]
    assert "instance_not_found" not in page.inner_text("main")
    auditor.shot("45-not-found")
    refused_statuses(auditor, 404, 1)
    auditor.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser__admin_grants_a_scoped_role_and_sees_failed_deliveries(live_server, browser,
                                                                        engine, lang):
    admin = Person(browser, live_server, lang, "sta_admin")
    page = admin.page
    page.goto(f"{live_server}/admin")
    roles = page.locator("form[action$='/admin/users/demo_colleague/roles']")
    row = page.locator("tr", has=roles)
    assert row.locator("td").nth(2).inner_text() == SMELTING[lang]
    roles.locator("input[name=roles]").fill("expert@safety_environment")
    roles.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/admin")
    assert page.locator(".flash.ok").count() == 1
    assert roles.locator("input[name=roles]").input_value() == "expert@safety_environment"
    with engine.db.read() as conn:
        granted = org.actor_by_username(conn, "demo_colleague").roles
    assert ("expert", "safety_environment") in granted
    admin.shot("46-admin-role-granted")

    roles.locator("input[name=roles]").fill("expert@nowhere")
    roles.locator("button[type=submit]").click()
    assert page.locator("p.flash.error[role=alert]").inner_text() == ROLE_REFUSED[lang]
    with engine.db.read() as conn:
        assert org.actor_by_username(conn, "demo_colleague").roles == granted
    admin.shot("47-admin-role-refused")
    refused_statuses(admin, 422, 1)

    page.goto(f"{live_server}/admin")
    page.click("nav.subnav a[href$='/admin/notifications']")
    page.wait_for_url(f"{live_server}/admin/notifications")
    assert page.locator("#failures").count() == 0
    assert page.locator("main section.card p.ok").count() == 1
    admin.shot("48-failed-deliveries")
    admin.close()
