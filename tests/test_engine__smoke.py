from tests.factories import act, make_instance, suggestion_to_committee


def test_engine__suggestion_runs_to_payout(engine, actor):
    view = suggestion_to_committee(engine, actor)
    assert view.state == "under_committee_review"
    assert view.data["expert_score"] == 80.0
    view = act(engine, view, "adopt", actor("committee_office"))
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"))
    view = act(engine, view, "decide_reward", actor("sta_admin"))
    assert view.state == "closed"
    assert list(view.links) == ["payout"]
    payout = engine.get(view.links["payout"][0], actor=actor("finance"))
    assert payout.state == "under_list_confirmation"
    assert payout.data["amount"] == "3000.00"
    assert make_instance is not None
