"""Reward budgets on the web: admins set them, finance and the general manager see what
remains; money is a decimal string and a third decimal is refused on the field."""

from __future__ import annotations

from decimal import Decimal

from tests.web_helpers import form_post
from workflow import budgets

pytest_plugins = ["tests.web_fixtures"]


def test_web__admin_sets_a_budget_and_viewers_see_the_remaining(engine, login):
    admin = login("sta_admin")
    response = form_post(admin, "/admin/budgets", {"year": "2026", "department": "smelting",
                                                   "amount": "150000.50"})
    assert response.status_code == 302
    status = budgets.remaining(engine.db, year=2026, department="smelting")
    assert status is not None and status.budget == Decimal("150000.50")
    for user in ("finance", "general_manager", "sta_admin"):
        html = login(user).get("/admin/budgets?year=2026").get_data(as_text=True)
        assert 'data-key="remaining">¥150,000.50<' in html, user
    assert 'method="post" action="/admin/budgets"' not in login("finance").get(
        "/admin/budgets?year=2026").get_data(as_text=True)


def test_web__budget_with_three_decimals_is_refused_on_the_field(engine, login):
    admin = login("sta_admin")
    response = form_post(admin, "/admin/budgets", {"year": "2026", "department": "smelting",
                                                   "amount": "100.005"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="error-amount"' in html and 'value="100.005"' in html
    assert budgets.remaining(engine.db, year=2026, department="smelting") is None


def test_web__only_admins_set_budgets(engine, login):
    for user in ("finance", "general_manager"):
        response = form_post(login(user), "/admin/budgets", {
            "year": "2026", "department": "*", "amount": "1.00"})
        assert response.status_code == 403, user
    assert budgets.budgets(engine.db, year=2026) == []
