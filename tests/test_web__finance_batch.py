"""Finance on the web: a batch confirmed with one batch reference (each payout on its own,
through ``payouts.confirm_batch``), and payouts waiting for the general manager listed."""

from __future__ import annotations

import pytest

from tests.payout_helpers import bonus_folder, bonus_payout, to_awaiting_payment
from tests.web_helpers import form_post
from workflow import budgets

pytest_plugins = ["tests.web_fixtures"]


@pytest.fixture
def definitions_folder(tmp_path):
    """The shipped lifecycles plus ``bonus``, which spawns a payout in two actions."""
    return bonus_folder(tmp_path)


def test_web__batch_reference_confirms_each_payout_once(engine, actor, login):
    ids = [bonus_payout(engine, actor, f"{200 + i}.00").id for i in range(3)]
    versions = {pid: to_awaiting_payment(engine, actor, pid).version for pid in ids}
    finance = login("finance")
    picks = [f"{pid}:{versions[pid]}" for pid in ids[:2]] + [f"{ids[2]}:{versions[ids[2]] - 1}"]
    response = form_post(finance, "/finance/confirm", {"pick": picks,
                                                       "batch_reference": "BATCH-2026-11"})
    assert response.status_code == 302
    sta = actor("sta_admin")
    states = [engine.get(pid, actor=sta) for pid in ids]
    assert [v.state for v in states] == ["paid", "paid", "awaiting_payment"]
    assert [v.data["payment_reference"] for v in states[:2]] == [
        f"BATCH-2026-11-{pid}" for pid in ids[:2]]
    html = finance.get("/finance").get_data(as_text=True)
    assert "2 payouts confirmed, 1 not confirmed." in html
    bad = form_post(finance, "/finance/confirm", {"pick": [f"{ids[2]}:{versions[ids[2]]}"],
                                                  "batch_reference": "x"})
    assert bad.status_code == 302
    assert engine.get(ids[2], actor=sta).state == "awaiting_payment"


def test_web__payouts_over_budget_are_listed_as_waiting_for_the_manager(engine, actor, login):
    budgets.set_budget(engine.db, actor=actor("sta_admin"), year=2026, department="smelting",
                       amount="100.00", now=engine.clock.now())
    payout = bonus_payout(engine, actor, "500.00")
    view = engine.act(payout.id, "confirm_list", actor=actor("sta_admin"))
    assert view.state == "under_general_manager_approval"
    html = login("finance").get("/finance").get_data(as_text=True)
    table = html.split('id="with-manager"', 1)[1].split("</table>", 1)[0]
    assert f'href="/instances/{payout.id}"' in table
