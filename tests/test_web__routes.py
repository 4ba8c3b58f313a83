"""Every route × every role × owner or not → the expected status; nothing unauthorized is 2xx."""

from __future__ import annotations

import io

import pytest
from flask import url_for

from tests.factories import make_instance
from tests.web_helpers import csrf_of

pytest_plugins = ["tests.web_fixtures"]

USERS = ["anonymous", "demo_proposer", "power_engineer", "head_smelting", "head_power",
         "expert_smelting_1", "expert_it_1", "committee_office", "committee_member",
         "finance", "sta_admin", "general_manager", "auditor"]
"""demo_proposer owns the item; power_engineer is another proposer with no part in it."""

SEES_ITEM = {"demo_proposer", "head_smelting", "expert_smelting_1", "committee_office",
             "committee_member", "finance", "sta_admin", "general_manager", "auditor"}
"""Who may see a smelting suggestion under department review."""

EVERYONE = set(USERS) - {"anonymous"}
REPORT_READERS = {"sta_admin", "committee_office", "committee_member", "general_manager",
                  "auditor"}
BUDGET_READERS = {"sta_admin", "finance", "general_manager"}

GET_ROUTES: dict[str, set[str]] = {
    "/inbox": EVERYONE,
    "/new": EVERYONE,
    "/new/suggestion": EVERYONE,
    "/new/award": EVERYONE,
    "/mine": EVERYONE,
    "/auth/profile": EVERYONE,
    "/instances/{id}": SEES_ITEM,
    "/attachments/{attachment}": SEES_ITEM,
    "/finance": {"finance"},
    "/finance/export.csv": {"finance"},
    "/admin": {"sta_admin"},
    "/audit": {"auditor", "sta_admin"},
    "/audit/chain": {"auditor", "sta_admin"},
    "/api/v1/instances/{id}": SEES_ITEM,
    "/api/v1/instances/{id}/history": SEES_ITEM,
    "/api/v1/reports/summary": {"committee_office", "committee_member", "finance",
                                "sta_admin", "general_manager", "auditor"},
    "/api/v1/tasks": EVERYONE,
    "/reports": REPORT_READERS,
    "/reports?year=2025": REPORT_READERS,
    "/reports/export.xlsx?year=2026": REPORT_READERS,
    "/reports/reward_money.csv?year=2026": REPORT_READERS,
    "/reports/assessment.csv": REPORT_READERS,
    "/admin/budgets": BUDGET_READERS,
    "/admin/calendar": {"sta_admin"},
    "/admin/notifications": {"sta_admin"},
    "/notifications": EVERYONE,
    "/api/v1/workflows": EVERYONE,
    "/api/v1/instances": EVERYONE,
}

ACT_APPROVE: set[str] = {"head_smelting"}
"""Who may approve the item now (the owner may not, nor anyone outside its department)."""


@pytest.fixture
def item(engine, actor, login):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    owner = login("demo_proposer")
    response = owner.post(f"/instances/{view.id}/attachments", data={
        "csrf_token": csrf_of(owner), "file": (io.BytesIO(b"%PDF-1.4 test"), "plan.pdf")})
    assert response.status_code == 302
    return view


def _client(app, login, user):
    return app.test_client() if user == "anonymous" else login(user)


def _denied(response, user, path):
    if user == "anonymous":
        if path.startswith("/api/"):
            return response.status_code == 401
        return response.status_code == 302 and "/auth/login" in response.headers["Location"]
    return response.status_code in (403, 404)


@pytest.mark.parametrize("user", USERS)
def test_web__route_matrix_for_reading(app, login, item, user):
    client = _client(app, login, user)
    for route, allowed in GET_ROUTES.items():
        path = route.replace("{id}", str(item.id)).replace("{attachment}", "1")
        response = client.get(path)
        response.close()
        if user in allowed:
            assert response.status_code == 200, (user, path, response.status_code)
        else:
            assert _denied(response, user, path), (user, path, response.status_code)


@pytest.mark.parametrize("user", USERS)
def test_web__route_matrix_for_acting(app, login, engine, actor, item, user):
    client = _client(app, login, user)
    headers = {}
    if user != "anonymous":
        headers = {"X-CSRFToken": csrf_of(client)}
    form = {"csrf_token": headers.get("X-CSRFToken", ""), "expected_version": item.version}
    response = client.post(f"/instances/{item.id}/act/approve", data=form)
    if user in ACT_APPROVE:
        assert response.status_code == 302
        assert engine.get(item.id, actor=actor("sta_admin")).state == "under_expert_review"
        return
    if user == "anonymous":
        assert response.status_code == 400  # no session, so no CSRF token either
    else:
        assert response.status_code in (403, 404, 409), (user, response.status_code)
    api = client.post(f"/api/v1/instances/{item.id}/actions", json={"action": "approve"},
                      headers=headers)
    assert api.status_code in (400, 401, 403, 404, 409), (user, api.status_code)
    assert engine.get(item.id, actor=actor("sta_admin")).version == item.version


ROLE_POSTS = [
    ("finance.confirm", {"finance"}),
    ("finance.approve", {"finance"}),
    ("admin.add_user", {"sta_admin"}),
    ("admin.add_department", {"sta_admin"}),
    ("admin.add_field", {"sta_admin"}),
    ("reports.enter_assessment", {"sta_admin"}),
    ("budgets.set_budget", {"sta_admin"}),
    ("calendar_admin.add_day_off", {"sta_admin"}),
    ("calendar_admin.remove_day_off", {"sta_admin"}),
    ("calendar_admin.enter_year", {"sta_admin"}),
    ("notifications.mark_all_read", EVERYONE),
]


@pytest.mark.parametrize("user", USERS)
def test_web__role_only_forms_refuse_everyone_else(app, login, user):
    client = _client(app, login, user)
    token = csrf_of(client) if user != "anonymous" else ""
    for endpoint, allowed in ROLE_POSTS:
        with app.test_request_context():
            path = url_for(endpoint)
        response = client.post(path, data={"csrf_token": token})
        if user in allowed:
            assert response.status_code in (302, 422), (user, endpoint)
        else:
            assert response.status_code in (400, 302, 403), (user, endpoint)
            if response.status_code == 302:
                assert user == "anonymous" and "/auth/login" in response.headers["Location"]


def test_web__roles_form_is_admin_only(app, login, engine):
    with app.test_request_context():
        path = url_for("admin.set_roles", username="demo_colleague")
    outsider = login("head_smelting")
    response = outsider.post(path, data={"csrf_token": csrf_of(outsider),
                                         "roles": "sta_admin"})
    assert response.status_code == 403
    admin = login("sta_admin")
    response = admin.post(path, data={"csrf_token": csrf_of(admin), "roles": "expert@it"})
    assert response.status_code == 302
    from workflow import org

    with engine.db.read() as conn:
        assert org.get_user(conn, "demo_colleague").roles == ("expert@it",)


@pytest.mark.parametrize("user", USERS)
def test_web__requeue_of_a_failed_delivery_is_admin_only(app, login, user):
    client = _client(app, login, user)
    token = csrf_of(client) if user != "anonymous" else ""
    response = client.post("/admin/notifications/1/requeue", data={"csrf_token": token})
    if user == "sta_admin":
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/admin/notifications")
    elif user == "anonymous":
        assert response.status_code == 400
    else:
        assert response.status_code == 403, user
