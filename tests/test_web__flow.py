"""The whole path through the HTML forms: suggestion to paid payout, without JavaScript."""

from __future__ import annotations

import re

from tests.factories import EXPERTS
from tests.web_helpers import form_post

pytest_plugins = ["tests.web_fixtures"]

SUGGESTION_FORM = {
    "title": "Reuse condensate <b>safely</b>",
    "category": "small_renovation",
    "department": "smelting",
    "field": "smelting",
    "description": "Route the condensate back to the boiler feed instead of draining it.",
    "expected_benefit": "120,000.00",
    "team.0.username": "demo_proposer",
    "team.0.share": "60",
    "team.1.username": "demo_colleague",
    "team.1.share": "40",
    "intent": "submit",
}


def _version(html: str) -> str:
    found = re.search(r'name="expected_version" value="(\d+)"', html)
    assert found
    return found.group(1)


def act(client, instance_id: int, action: str, data: dict[str, str] | None = None):
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'id="action-{action}"' in page, f"{action} not offered"
    response = form_post(client, f"/instances/{instance_id}/act/{action}",
                         {"expected_version": _version(page), **(data or {})})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return response


def test_web__suggestion_runs_through_forms_to_paid_payout(login, engine, actor, second_admin):
    proposer = login("demo_proposer")
    response = form_post(proposer, "/new/suggestion", SUGGESTION_FORM)
    assert response.status_code == 302
    instance_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    page = proposer.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "Reuse condensate &lt;b&gt;safely&lt;/b&gt;" in page
    assert "<b>safely</b>" not in page

    act(login("head_smelting"), instance_id, "approve")
    for name in EXPERTS["smelting"]:
        act(login(name), instance_id, "score",
            {"innovation": "80", "feasibility": "85", "benefit": "75"})
    act(login("committee_office"), instance_id, "adopt", {"grade": "second"})
    act(login("head_smelting"), instance_id, "report_completion",
        {"completed_on": "2026-11-20", "summary": "Rebuilt and running."})
    act(login("finance"), instance_id, "verify_benefit", {"verified_benefit": "98000.00"})
    act(login("sta_admin"), instance_id, "decide_reward", {"reward_decided": "3000.00"})
    view = engine.get(instance_id, actor=actor("sta_admin"))
    assert view.state == "closed"
    payout_id = view.links["payout"][0]
    act(login(second_admin), payout_id, "confirm_list")

    finance = login("finance_2")
    assert finance.get("/finance").status_code == 200
    version = engine.get(payout_id, actor=actor("finance_2")).version
    response = form_post(finance, "/finance/approve", {"pick": f"{payout_id}:{version}"})
    assert response.status_code == 302
    version = engine.get(payout_id, actor=actor("finance_2")).version
    response = form_post(finance, "/finance/confirm", {
        "pick": f"{payout_id}:{version}", f"reference-{payout_id}": "PAY-2026-000123"})
    assert response.status_code == 302
    assert engine.get(payout_id, actor=actor("finance_2")).state == "paid"
    csv = finance.get("/finance/export.csv?state=paid")
    assert csv.status_code == 200
    assert "PAY-2026-000123" in csv.get_data(as_text=True)
