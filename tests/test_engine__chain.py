"""The linked chain: suggestion → project → acceptance → award → payout, from any of them."""

from datetime import timedelta

from tests.factories import act, make_instance, suggestion_to_committee
from workflow.calendar import WorkingCalendar


def test_chain__visible_from_every_instance(engine, actor, clock):
    suggestion = suggestion_to_committee(engine, actor)
    suggestion = act(engine, suggestion, "adopt", actor("committee_office"))
    lead = actor("demo_proposer")
    project = make_instance(engine, lead, "project", source_id=suggestion.id)
    project = act(engine, project, "recommend", actor("head_smelting"))
    project = act(engine, project, "pass_formal_review", actor("sta_admin"))
    for name in ("expert_smelting_1", "expert_smelting_2", "expert_smelting_3"):
        project = act(engine, project, "score", actor(name))
    project = act(engine, project, "approve", actor("committee_office"))
    assert project.state == "established"
    acceptance = make_instance(engine, lead, "acceptance", project_id=project.id)
    acceptance = act(engine, acceptance, "pass_formal_review", actor("sta_admin"))
    acceptance = act(engine, acceptance, "pass", actor("expert_smelting_1"))
    acceptance = act(engine, acceptance, "confirm", actor("committee_office"))
    assert acceptance.state == "accepted"
    award = make_instance(engine, lead, "award", source_id=acceptance.id,
                          department="power", field="it")
    assert award.data["field"] == "it"  # given fields win over the copied ones
    award = act(engine, award, "pass_formal_review", actor("sta_admin"))
    for name in ("expert_it_1", "expert_it_2"):
        award = act(engine, award, "score", actor(name))
    award = act(engine, award, "propose_grade", actor("chair_it"))
    for member in ("committee_member", "committee_member_2", "committee_member_3",
                   "committee_member_4", "committee_member_5"):
        award = act(engine, award, "vote", actor(member), choice="second")
    assert award.state == "under_public_notice"
    calendar: WorkingCalendar = engine.calendar
    due = calendar.deadline(clock.now(), 5)
    clock.set(due + timedelta(seconds=1))
    assert engine.fire_due_timers() == 1
    award = engine.get(award.id, actor=actor("sta_admin"))
    assert award.state == "approved"
    payout_id = award.links["payout"][0]
    expected = [("suggestion", suggestion.id), ("project", project.id),
                ("acceptance", acceptance.id), ("award", award.id), ("payout", payout_id)]
    for instance_id in (suggestion.id, project.id, acceptance.id, award.id, payout_id):
        view = engine.get(instance_id, actor=actor("sta_admin"))
        assert [(c.workflow, c.id) for c in view.chain] == expected
    payout = engine.get(payout_id, actor=actor("finance"))
    assert payout.data["amount"] == "20000.00"
    assert payout.data["lines"] == [{"username": "demo_proposer", "share": "100",
                                     "amount": "20000.00"}]
