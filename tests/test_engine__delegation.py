"""委托: a substitute acts on tasks that arrive while the principal is away."""

from datetime import timedelta

import pytest

from tests.factories import act, make_instance, make_user, suggestion_to_committee
from tests.payout_helpers import decided_suggestion
from workflow.errors import Forbidden, ValidationFailed


def test_delegation__substitute_acts_on_behalf_of_the_principal(engine, actor, clock):
    head = actor("head_smelting")
    deputy = make_user(engine, "deputy_smelting", department="smelting")
    engine.delegate(actor=head, substitute="deputy_smelting", starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=7))
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    inbox = engine.inbox(actor=deputy)
    assert [(t.instance_id, t.on_behalf_of) for t in inbox] == [(view.id, "head_smelting")]
    assert "approve" in [a.name for a in engine.get(view.id, actor=deputy).actions]
    view = act(engine, view, "approve", deputy)
    assert view.state == "under_expert_review"
    event = engine.history(view.id, actor=head)[-1]
    assert (event.actor, event.on_behalf_of, event.action) == (
        "deputy_smelting", "head_smelting", "approve")


def test_delegation__only_tasks_arriving_in_the_window(engine, actor, clock):
    head = actor("head_smelting")
    deputy = make_user(engine, "deputy_smelting", department="smelting")
    before = make_instance(engine, actor("demo_proposer"), "suggestion")
    clock.advance(hours=1)
    engine.delegate(actor=head, substitute="deputy_smelting", starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=1))
    with pytest.raises(Forbidden):
        act(engine, before, "approve", deputy)
    clock.advance(days=2)
    after_window = make_instance(engine, actor("demo_proposer"), "suggestion")
    with pytest.raises(Forbidden):
        act(engine, after_window, "approve", deputy)


def test_delegation__never_on_the_substitutes_own_item(engine, actor, clock):
    head = actor("head_smelting")
    engine.delegate(actor=head, substitute="demo_proposer", starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=7))
    proposer = actor("demo_proposer")
    view = make_instance(engine, proposer, "suggestion")
    with pytest.raises(Forbidden):
        act(engine, view, "approve", proposer)


def test_delegation__does_not_chain(engine, actor, clock):
    head = actor("head_smelting")
    first = make_user(engine, "first_substitute", department="alumina")
    second = make_user(engine, "second_substitute", department="alumina")
    window = {"starts_at": clock.now(), "ends_at": clock.now() + timedelta(days=7)}
    engine.delegate(actor=head, substitute="first_substitute", **window)
    engine.delegate(actor=first, substitute="second_substitute", **window)
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    with pytest.raises(Forbidden):
        act(engine, view, "approve", second)
    assert engine.inbox(actor=second) == []


def test_delegation__refuses_oneself_and_bad_windows(engine, actor, clock):
    head = actor("head_smelting")
    now = clock.now()
    cases = [
        ({"substitute": "head_smelting", "starts_at": now, "ends_at": now + timedelta(days=1)},
         "substitute"),
        ({"substitute": "ghost", "starts_at": now, "ends_at": now + timedelta(days=1)},
         "substitute"),
        ({"substitute": "demo_colleague", "starts_at": now, "ends_at": now}, "ends_at"),
        ({"substitute": "demo_colleague", "starts_at": now - timedelta(days=3),
          "ends_at": now - timedelta(days=1)}, "ends_at"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            engine.delegate(actor=head, **kwargs)
        assert field in caught.value.fields
    assert engine.delegations(actor=head) == []


def test_delegation__revoked_stops_the_substitute(engine, actor, clock):
    head = actor("head_smelting")
    deputy = make_user(engine, "deputy_smelting", department="smelting")
    given = engine.delegate(actor=head, substitute="deputy_smelting", starts_at=clock.now(),
                            ends_at=clock.now() + timedelta(days=7))
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    engine.revoke_delegation(given.id, actor=head)
    with pytest.raises(Forbidden):
        act(engine, view, "approve", deputy)
    assert engine.delegations(actor=deputy)[0].revoked_at is not None


def test_delegation__a_task_both_hold_shows_once_as_the_substitutes_own(engine, actor, clock):
    head = actor("head_smelting")
    deputy = make_user(engine, "deputy_smelting", "dept_head@smelting", department="smelting")
    engine.delegate(actor=head, substitute="deputy_smelting", starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=7))
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    assert [(t.instance_id, t.on_behalf_of) for t in engine.inbox(actor=deputy)] == [
        (view.id, None)]


def test_delegation__substitutes_inbox_merges_both_lists_most_urgent_first(engine, actor,
                                                                           clock):
    head = actor("head_smelting")
    deputy = make_user(engine, "deputy_office", "committee_office", department="alumina")
    proposer = actor("demo_proposer")
    engine.delegate(actor=head, substitute="deputy_office", starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=30))
    at_committee = suggestion_to_committee(engine, actor)  # the committee's 5 working days
    soon = make_instance(engine, proposer, "suggestion")  # the head's 3 working days
    clock.advance(days=3)
    later = make_instance(engine, proposer, "suggestion")  # due after the committee's
    inbox = engine.inbox(actor=deputy)
    assert [(t.instance_id, t.role, t.on_behalf_of) for t in inbox] == [
        (soon.id, "dept_head", "head_smelting"), (at_committee.id, "committee_office", None),
        (later.id, "dept_head", "head_smelting")]
    assert [t.due_at for t in inbox] == sorted(t.due_at for t in inbox)
    assert [t.instance_id for t in engine.inbox(actor=deputy, limit=2)] == [
        soon.id, at_committee.id]


def test_delegation__the_principals_earlier_step_is_not_offered_nor_allowed(engine, actor,
                                                                           clock):
    # The principal confirmed the payout list, so neither they nor anyone standing in for
    # them may approve it at finance review (segregation of duties): not offered, refused.
    both = make_user(engine, "admin_and_finance", "sta_admin", "finance",
                     department="finance_dept")
    deputy = make_user(engine, "deputy_finance", department="finance_dept")
    suggestion = decided_suggestion(engine, actor, reward_decided="3000.00")
    payout_id = suggestion.links["payout"][0]
    engine.act(payout_id, "confirm_list", actor=both)
    engine.delegate(actor=both, substitute="deputy_finance", starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(days=7))
    # Only tasks arriving in the window count: return and confirm again to open a new one.
    view = engine.act(payout_id, "return_for_revision", actor=actor("finance"),
                      comment="again")
    clock.advance(timedelta(minutes=1))
    view = engine.act(payout_id, "confirm_list", actor=both)
    assert view.state == "under_finance_review"
    offered = [a.name for a in engine.get(payout_id, actor=deputy).actions]
    assert "return_for_revision" in offered  # the deputy does stand in for the principal
    assert "approve" not in offered
    with pytest.raises(Forbidden) as refused:
        engine.act(payout_id, "approve", actor=deputy)
    assert refused.value.message == "segregation_of_duties"
