"""转交 transfer, 认领 claim, 加签/减签 add and remove signers, 抄送 copy, 催办 urge, batches."""

from datetime import timedelta

import pytest

from tests.factories import act, make_instance, make_user, outbox
from workflow.errors import Forbidden, InvalidAction, NotFound, ValidationFailed


def _at_committee(engine, actor):
    from tests.factories import suggestion_to_committee

    return suggestion_to_committee(engine, actor)


def _names(view):
    return [a.name for a in view.actions]


def test_habits__transfer_hands_the_task_to_an_eligible_person(engine, actor):
    view = _at_committee(engine, actor)
    deputy = make_user(engine, "office_deputy", "committee_office")
    office = actor("committee_office")
    view = engine.act(view.id, "claim", actor=office)
    view = engine.act(view.id, "transfer", actor=office, comment="on leave tomorrow",
                      data={"to": "office_deputy"})
    assert [t.assignee for t in view.tasks] == ["office_deputy"]
    with pytest.raises(Forbidden):
        act(engine, view, "adopt", office)
    view = act(engine, view, "adopt", deputy)
    assert view.state == "under_implementation"
    events = engine.history(view.id, actor=deputy)
    transfer = next(e for e in events if e.action == "transfer")
    assert (transfer.actor, transfer.data["to"], transfer.comment) == (
        "committee_office", "office_deputy", "on leave tomorrow")


def test_habits__transfer_refuses_ineligible_targets_and_changes_nothing(engine, actor):
    view = _at_committee(engine, actor)
    office = actor("committee_office")
    view = engine.act(view.id, "claim", actor=office)
    cases = [
        ({"to": "power_engineer"}, "to"),          # holds no committee_office role
        ({"to": "demo_proposer"}, "to"),           # the proposer: own item
        ({"to": "nobody_here"}, "to"),             # unknown
        ({"to": "committee_office"}, "to"),        # oneself
    ]
    for data, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            engine.act(view.id, "transfer", actor=office, comment="please", data=data)
        assert field in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "transfer", actor=office, data={"to": "power_engineer"})
    assert "comment" in caught.value.fields
    with pytest.raises(Forbidden):
        engine.act(view.id, "transfer", actor=actor("finance"), comment="x",
                   data={"to": "committee_office"})
    assert engine.get(view.id, actor=office).version == view.version


def test_habits__claim_and_release_a_pooled_task(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    for name in ("expert_smelting_1", "expert_smelting_2", "expert_smelting_3"):
        view = act(engine, view, "score", actor(name))
    second = make_user(engine, "office_second", "committee_office")
    office = actor("committee_office")
    assert "claim" in _names(engine.get(view.id, actor=office))
    view = engine.act(view.id, "claim", actor=office)
    assert view.tasks[0].assignee == "committee_office"
    # A claimed task is no longer actionable for the others, nor in their inbox.
    assert not [t for t in engine.inbox(actor=second) if t.instance_id == view.id]
    with pytest.raises(Forbidden):
        act(engine, view, "adopt", second)
    view = engine.act(view.id, "release", actor=office)
    assert view.tasks[0].assignee is None
    assert [t.instance_id for t in engine.inbox(actor=second)] == [view.id]
    view = act(engine, view, "adopt", second)
    assert view.state == "under_implementation"


@pytest.mark.parametrize("position", ["before", "after", "parallel"])
def test_habits__added_signer_must_sign_too(engine, actor, position):
    view = _at_committee(engine, actor)
    office = actor("committee_office")
    gm = actor("general_manager")
    view = engine.act(view.id, "claim", actor=office)
    view = engine.act(view.id, "add_signer", actor=office,
                      data={"username": "general_manager", "position": position})
    if position == "before":
        # The added person acts first; the holder waits.
        with pytest.raises(Forbidden):
            act(engine, view, "adopt", office)
        view = act(engine, view, "adopt", gm)
        assert view.state == "under_committee_review"
        view = act(engine, view, "adopt", office)
    elif position == "after":
        with pytest.raises(Forbidden):
            act(engine, view, "adopt", gm)
        view = act(engine, view, "adopt", office)
        assert view.state == "under_committee_review"
        view = act(engine, view, "adopt", gm)
    else:
        view = act(engine, view, "adopt", gm)
        assert view.state == "under_committee_review"
        view = act(engine, view, "adopt", office)
    assert view.state == "under_implementation"


def test_habits__an_added_signer_rejecting_decides(engine, actor):
    view = _at_committee(engine, actor)
    office = actor("committee_office")
    view = engine.act(view.id, "claim", actor=office)
    view = engine.act(view.id, "add_signer", actor=office,
                      data={"username": "general_manager", "position": "parallel"})
    view = act(engine, view, "reject", actor("general_manager"), comment="no budget")
    assert view.state == "rejected"


def test_habits__remove_signer_reopens_the_holder(engine, actor):
    view = _at_committee(engine, actor)
    office = actor("committee_office")
    view = engine.act(view.id, "claim", actor=office)
    view = engine.act(view.id, "add_signer", actor=office,
                      data={"username": "general_manager", "position": "before"})
    assert "remove_signer" in _names(view)
    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "remove_signer", actor=office, data={"username": "finance"})
    assert "username" in caught.value.fields
    view = engine.act(view.id, "remove_signer", actor=office,
                      data={"username": "general_manager"})
    with pytest.raises(Forbidden):
        act(engine, view, "adopt", actor("general_manager"))
    view = act(engine, view, "adopt", office)
    assert view.state == "under_implementation"


def test_habits__add_signer_only_where_the_definition_allows(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    with pytest.raises(InvalidAction):
        engine.act(view.id, "add_signer", actor=actor("head_smelting"),
                   data={"username": "general_manager", "position": "after"})


def test_habits__copy_gives_read_access_and_a_notification(engine, actor):
    view = _at_committee(engine, actor)
    outsider = actor("power_engineer")
    with pytest.raises(NotFound):
        engine.get(view.id, actor=outsider)
    office = actor("committee_office")
    view = engine.act(view.id, "claim", actor=office)
    engine.act(view.id, "copy", actor=office, data={"to": ["power_engineer"]})
    seen = engine.get(view.id, actor=outsider)
    assert seen.actions == ()
    copied = outbox(engine, "copied")
    assert [m["recipient_id"] for m in copied] == [outsider.id]
    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "copy", actor=office, data={"to": ["ghost"]})
    assert "to" in caught.value.fields


def test_habits__step_copies_its_observers(engine, actor):
    view = _at_committee(engine, actor)
    view = act(engine, view, "adopt", actor("committee_office"))
    assert view.state == "under_implementation"
    copied = outbox(engine, "copied")
    assert {m["recipient_id"] for m in copied} == {actor("finance").id, actor("finance_2").id}


def test_habits__urge_once_per_working_day(engine, actor, clock):
    proposer = actor("demo_proposer")
    view = make_instance(engine, proposer, "suggestion")
    view = engine.act(view.id, "urge", actor=proposer)
    assert [m["key"] for m in outbox(engine, "urged")] == ["urged"]
    with pytest.raises(InvalidAction) as caught:
        engine.act(view.id, "urge", actor=proposer)
    assert caught.value.message == "already_urged_today"
    clock.advance(days=1)
    engine.act(view.id, "urge", actor=proposer)
    with pytest.raises(Forbidden):
        engine.act(view.id, "urge", actor=actor("power_engineer"))


def test_habits__urging_on_saturday_counts_for_monday(engine, actor, clock):
    proposer = actor("demo_proposer")
    view = make_instance(engine, proposer, "suggestion")
    clock.advance(days=5)  # Saturday 2026-11-28
    engine.act(view.id, "urge", actor=proposer)
    clock.advance(days=2)  # Monday
    with pytest.raises(InvalidAction):
        engine.act(view.id, "urge", actor=proposer)
    clock.advance(timedelta(days=1))
    engine.act(view.id, "urge", actor=proposer)


def test_habits__batch_approve_is_one_transaction_each(engine, actor):
    proposer = actor("demo_proposer")
    head = actor("head_smelting")
    views = [make_instance(engine, proposer, "suggestion") for _ in range(3)]
    stale = views[1].version - 1
    results = engine.act_many([(views[0].id, views[0].version), (views[1].id, stale),
                               (views[2].id, None)], "approve", actor=head)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None and results[1].error.code == "version_conflict"
    assert engine.get(views[1].id, actor=head).state == "under_department_review"
    for result in (results[0], results[2]):
        events = engine.history(result.instance_id, actor=head)
        assert [e.action for e in events][-1] == "approve"


def test_habits__only_the_system_flags_and_the_same_flag_counts_once(engine, actor):
    from workflow import Actor

    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    flag = {"key": "milestone_missed:1", "reason": "milestone_missed"}
    with pytest.raises(Forbidden):
        engine.act(view.id, "flag", actor=actor("sta_admin"), data=flag)
    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "flag", actor=Actor.system(), data={"key": "x"})
    assert "reason" in caught.value.fields
    flagged = engine.act(view.id, "flag", actor=Actor.system(), data=flag)
    again = engine.act(view.id, "flag", actor=Actor.system(), data=flag)
    assert again.version == flagged.version == view.version + 1
    assert [f["key"] for f in again.data["flags"]] == ["milestone_missed:1"]
    assert engine.replay(view.id) == (again.state, dict(again.data))
