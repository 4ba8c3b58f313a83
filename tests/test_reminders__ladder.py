"""The escalation ladder on the Chinese calendar, driven by the fake clock only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import make_instance
from workflow import Actor, Engine, FakeClock, demo
from workflow.definition import DefinitionError, Reminders, parse
from workflow.notify import Notifier
from workflow.notify.bell import latest
from workflow.reminders import ESCALATE, REMIND_BEFORE, REMIND_OVERDUE, ladder
from workflow.scheduler import Jobs
from workflow.store import OUTBOX, TASKS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def reminders_sent(engine: Engine) -> list[tuple[str, str, int | None, str | None]]:
    with engine.db.read() as conn:
        rows = conn.execute(select(OUTBOX.c.key, OUTBOX.c.params, OUTBOX.c.recipient_id,
                                   OUTBOX.c.role, OUTBOX.c.created_at)
                            .where(OUTBOX.c.key.in_(["reminder", "escalation"]),
                                   OUTBOX.c.channel.is_(None))
                            .order_by(OUTBOX.c.id))
        return [(r.key, r.params.get("stage", ""), r.recipient_id, r.role) for r in rows]


def run_at(jobs: Jobs, clock: FakeClock, moment: datetime) -> None:
    clock.set(moment)
    jobs.run_until_idle()


def test_reminders__ladder_over_national_day(calendar):
    rules = Reminders(before_days=1, overdue=True, escalate_after_days=2,
                      escalate_to=parse_assignee())
    due = local(2026, 10, 8, 23, 59, 59)
    rungs = ladder(rules, due_at=due, opened_at=local(2026, 9, 28, 9), calendar=calendar)
    assert [(r.kind, r.at) for r in rungs] == [
        (REMIND_BEFORE, local(2026, 9, 30, 9)),   # the last working day before the holiday
        (REMIND_OVERDUE, local(2026, 10, 9, 9)),  # the first working day after the deadline
        (ESCALATE, local(2026, 10, 10, 9)),       # a Saturday worked in exchange (调休)
    ]


def parse_assignee():
    from workflow.definition import Assignee

    return Assignee("sta_admin")


def test_reminders__task_due_over_national_day_is_reminded_on_the_right_day(engine, actor, clock):
    clock.set(local(2026, 9, 28, 9))  # Monday before National Day
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    assert view.state == "under_department_review"
    assert view.tasks[0].due_at == local(2026, 10, 8, 23, 59, 59)
    jobs = Jobs(engine, Notifier(digest_delay=timedelta(0)))

    run_at(jobs, clock, local(2026, 9, 29, 17))
    run_at(jobs, clock, local(2026, 9, 30, 8, 59))
    assert reminders_sent(engine) == []

    run_at(jobs, clock, local(2026, 9, 30, 9))
    assert reminders_sent(engine) == [("reminder", "before", None, "dept_head")]

    for day in range(1, 9):  # the holiday, and the due day itself: nothing new
        run_at(jobs, clock, local(2026, 10, day, 18))
    assert len(reminders_sent(engine)) == 1

    run_at(jobs, clock, local(2026, 10, 9, 9))
    assert reminders_sent(engine)[-1] == ("reminder", "overdue", None, "dept_head")
    run_at(jobs, clock, local(2026, 10, 10, 9))
    assert reminders_sent(engine)[-1] == ("escalation", "", None, "sta_admin")
    run_at(jobs, clock, local(2026, 10, 20, 9))
    assert len(reminders_sent(engine)) == 3

    head = actor("head_smelting")
    with engine.db.read() as conn:
        bell = latest(conn, head.id)
    digests = [n for n in bell if n.key == "digest"]
    assert [d.params["day"] for d in digests] == ["2026-10-09", "2026-09-30"]
    assert digests[1].params["items"][0]["stage"] == "before"
    with engine.db.read() as conn:
        assert any(n.key == "escalation" for n in latest(conn, actor("sta_admin").id))


def test_reminders__closed_task_is_not_reminded(engine, actor, clock):
    clock.set(local(2026, 9, 28, 9))
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    jobs = Jobs(engine, Notifier())
    run_at(jobs, clock, local(2026, 9, 29, 9))  # planned
    engine.act(view.id, "withdraw", actor=actor("demo_proposer"))
    run_at(jobs, clock, local(2026, 10, 20, 9))
    assert reminders_sent(engine) == []


NOTICE = """
name: notice
title: {en: Notice, zh: 公示}
initial: draft
start_schema:
  type: object
  required: [title]
  properties: {title: {type: string}}
  examples: [{title: Notice}]
states:
  draft:
    step: {assignees: owner}
  under_review:
    step:
      assignees: [{role: sta_admin}]
      deadline_days: 2
      reminders:
        before_days: 1
        escalate: {after_days: 1, to: {role: committee_office}}
        action: {after_days: 2, name: expire}
  under_public_notice: {}
  under_objection_review:
    step: {assignees: [{role: committee_office}], deadline_days: 10}
  approved: {final: true}
  expired: {final: true}
  not_approved: {final: true}
transitions:
  - {action: submit, source: draft, dest: under_review, outcome: submit, by: owner}
  - {action: approve, source: under_review, dest: under_public_notice, outcome: approve}
  - {action: expire, source: under_review, dest: expired, outcome: other, by: system}
  - {action: lodge_objection, source: under_public_notice, dest: under_objection_review,
     outcome: other, by: anyone, requires_comment: true}
  - {action: conclude_notice, source: under_public_notice, dest: approved, outcome: other,
     by: system}
  - {action: dismiss_objection, source: under_objection_review, dest: approved,
     outcome: approve}
  - {action: uphold_objection, source: under_objection_review, dest: not_approved,
     outcome: reject}
timers:
  - {state: under_public_notice, after_working_days: 5, action: conclude_notice}
"""


@pytest.fixture
def notice_engine(database, clock, calendar, tmp_path: Path) -> Engine:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "notice.yaml").write_text(NOTICE, encoding="utf-8")
    engine = Engine(database, clock=clock, calendar=calendar, definitions=folder)
    engine.load_definitions()
    with database.write() as conn:
        demo.load(conn, now=clock.now(), password=None)
    return engine


def test_reminders__automatic_action_ends_the_ladder_once(notice_engine, clock):
    engine = notice_engine
    from workflow import org

    with engine.db.read() as conn:
        proposer = org.actor_by_username(conn, "demo_proposer")
    clock.set(local(2026, 11, 23, 10))  # Monday; due Wednesday 25th
    view = make_instance(engine, proposer, "notice")
    assert view.state == "under_review"
    jobs = [Jobs(engine, Notifier()) for _ in range(3)]
    for moment in (local(2026, 11, 24, 9), local(2026, 11, 26, 9), local(2026, 11, 27, 9),
                   local(2026, 11, 30, 8)):
        clock.set(moment)
        for worker in jobs:
            worker.run_until_idle()
    assert engine.get(view.id, actor=proposer).state == "under_review"
    clock.set(local(2026, 12, 1, 9))  # escalation on 26th + 2 working days
    for worker in jobs:
        worker.run_until_idle()
    after = engine.get(view.id, actor=proposer)
    assert after.state == "expired"
    assert [e.action for e in engine.history(view.id, actor=proposer)] == [
        "start", "submit", "expire"]


def test_reminders__public_notice_over_swapped_weekend_ends_on_the_right_day(notice_engine,
                                                                             clock):
    """Notice from Thursday 8 October 2026: Saturday the 10th is worked in exchange for
    National Day, so five working days end on Wednesday the 14th, not Thursday the 15th."""
    engine = notice_engine
    from workflow import org

    with engine.db.read() as conn:
        proposer = org.actor_by_username(conn, "demo_proposer")
        admin = org.actor_by_username(conn, "sta_admin")
    clock.set(local(2026, 10, 8, 10))
    view = make_instance(engine, proposer, "notice")
    view = engine.act(view.id, "approve", actor=admin)
    assert view.state == "under_public_notice"
    jobs = Jobs(engine, Notifier())
    run_at(jobs, clock, local(2026, 10, 14, 23, 59))
    assert engine.get(view.id, actor=proposer).state == "under_public_notice"
    run_at(jobs, clock, local(2026, 10, 15, 0, 0, 1))
    assert engine.get(view.id, actor=proposer).state == "approved"


def test_reminders__objection_during_notice_stops_the_timer(notice_engine, clock):
    engine = notice_engine
    from workflow import org

    with engine.db.read() as conn:
        proposer = org.actor_by_username(conn, "demo_proposer")
        admin = org.actor_by_username(conn, "sta_admin")
        colleague = org.actor_by_username(conn, "demo_colleague")
    clock.set(local(2026, 10, 8, 10))
    view = make_instance(engine, proposer, "notice")
    engine.act(view.id, "approve", actor=admin)
    clock.set(local(2026, 10, 12, 10))
    engine.act(view.id, "lodge_objection", actor=colleague, comment="data copied")
    jobs = Jobs(engine, Notifier())
    run_at(jobs, clock, local(2026, 10, 20, 10))
    assert engine.get(view.id, actor=proposer).state == "under_objection_review"


def test_reminders__definition_checks_the_ladder():
    broken = NOTICE.replace("action: {after_days: 2, name: expire}",
                            "action: {after_days: 2, name: approve}").replace(
        "before_days: 1", "before_days: 0")
    with pytest.raises(DefinitionError) as caught:
        parse(broken, file="notice.yaml")
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "before_days must be a whole number of working days ≥ 1, got 0" in text
    assert "transition 'approve' must be by: system" in text
    assert "by system, but no timer fires it" in text  # expire is fired by nothing now


def test_reminders__shipped_definitions_declare_ladders(engine):
    definition = engine.catalog.newest("suggestion").definition
    rules = definition.states["under_department_review"].step.reminders
    assert rules == Reminders(before_days=1, overdue=True, escalate_after_days=2,
                              escalate_to=parse_assignee(), line=rules.line)
    assert definition.states["draft"].step.reminders is None


def test_reminders__planned_once_whoever_plans(engine, actor, clock):
    clock.set(local(2026, 9, 28, 9))
    make_instance(engine, actor("demo_proposer"), "suggestion")
    clock.set(local(2026, 9, 29, 9))
    from workflow import reminders

    assert reminders.plan(engine) == 1
    assert reminders.plan(engine) == 0
    with engine.db.read() as conn:
        tasks = conn.execute(select(TASKS.c.id)).all()
    assert len(tasks) == 2  # the owner's draft task and the department head's
    assert [r["kind"] for r in reminders.pending_for(engine, 1)] == [
        REMIND_BEFORE, REMIND_OVERDUE, ESCALATE]
    assert date(2026, 10, 10).weekday() == 5


PROJECT = """
name: project
initial: draft
start_schema:
  type: object
  required: [title, lead, milestones]
  properties:
    title: {type: string}
    lead: {type: string}
    milestones:
      type: array
      items:
        type: object
        properties: {name: {type: string}, due_date: {type: string}}
  examples: [{title: Lithium recovery, lead: demo_colleague,
              milestones: [{name: Pilot run, due_date: "2026-10-09"}]}]
states:
  draft:
    step: {assignees: owner}
  established: {final: true}
transitions:
  - {action: submit, source: draft, dest: established, outcome: submit, by: owner}
"""


def test_reminders__project_milestone_reminds_the_lead_then_reports_the_miss(
        database, clock, calendar, tmp_path):
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "project.yaml").write_text(PROJECT, encoding="utf-8")
    engine = Engine(database, clock=clock, calendar=calendar, definitions=folder)
    engine.load_definitions()
    with database.write() as conn:
        demo.load(conn, now=clock.now(), password=None)
    from workflow import org

    with engine.db.read() as conn:
        proposer = org.actor_by_username(conn, "demo_proposer")
        lead = org.actor_by_username(conn, "demo_colleague")
    clock.set(local(2026, 9, 21, 10))
    view = make_instance(engine, proposer, "project")
    assert view.state == "established"
    jobs = Jobs(engine, Notifier())

    def milestone_rows() -> list[tuple[int | None, str | None, str]]:
        with engine.db.read() as conn:
            return [(r.recipient_id, r.role, r.params["stage"]) for r in conn.execute(
                select(OUTBOX).where(OUTBOX.c.key == "milestone",
                                     OUTBOX.c.channel.is_(None)).order_by(OUTBOX.c.id))]

    run_at(jobs, clock, local(2026, 9, 24, 8, 59))
    assert milestone_rows() == []
    # five working days before Friday 9 October: the 25th is the Mid-Autumn Festival,
    # 1–7 October National Day, so the reminder comes on Thursday the 24th
    run_at(jobs, clock, local(2026, 9, 24, 9))
    assert milestone_rows() == [(lead.id, None, "before")]
    run_at(jobs, clock, local(2026, 10, 9, 18))
    assert len(milestone_rows()) == 1
    run_at(jobs, clock, local(2026, 10, 10, 9))  # the next working day: a swapped Saturday
    assert milestone_rows() == [(lead.id, None, "before"), (lead.id, None, "missed"),
                                (None, "sta_admin", "missed")]
    run_at(jobs, clock, local(2026, 10, 20, 9))
    assert len(milestone_rows()) == 3
    with engine.db.read() as conn:
        [note] = [n for n in latest(conn, lead.id) if n.key == "milestone"
                  and n.params["stage"] == "missed"]
    assert note.params["name"] == "Pilot run"
    # The project itself is flagged, once, as an audited system action that replays.
    sta_admin = engine.get(view.id, actor=Actor.system())
    [flag] = sta_admin.data["flags"]
    assert (flag["reason"], flag["details"]["name"]) == ("milestone_missed", "Pilot run")
    events = [e for e in engine.history(view.id, actor=Actor.system()) if e.action == "flag"]
    assert [(e.actor, e.fired) for e in events] == [("system", False)]
    assert engine.replay(view.id) == (sta_admin.state, dict(sta_admin.data))


def test_reminders__an_expert_who_never_scored_is_replaced(engine, actor, clock):
    """The suggestion's expert ladder: reminded, escalated to the chair, then replaced."""
    from tests.factories import act, make_user

    make_user(engine, "expert_smelting_4", "expert@smelting", department="power")
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    assigned = sorted(t.assignee for t in view.tasks)
    experts = {f"expert_smelting_{n}" for n in range(1, 5)}
    [spare] = experts - set(assigned)  # three of the four are assigned
    for name in assigned[:2]:
        view = act(engine, view, "score", actor(name))
    late = assigned[2]
    [task] = [t for t in view.tasks if t.status == "open"]
    jobs = Jobs(engine, Notifier())
    # deadline + 2 working days: escalation; + 2 more: the ladder's action replaces the expert
    day = engine.calendar.add_working_days(task.due_at.astimezone(SHANGHAI).date(), 4)
    run_at(jobs, clock, local(day.year, day.month, day.day, 10))
    view = engine.get(view.id, actor=actor("sta_admin"))
    assert [t.assignee for t in view.tasks if t.status == "open"] == [spare]
    event = engine.history(view.id, actor=actor("sta_admin"))[-1]
    assert (event.action, event.actor) == ("reassign_overdue", "system")
    assert event.data["replaced"][0]["from"] == late
    view = act(engine, view, "score", actor(spare))
    assert view.state == "under_committee_review"
    assert engine.replay(view.id) == (view.state, dict(view.data))
    with pytest.raises(Exception) as caught:
        engine.act(view.id, "reassign_overdue", actor=actor("sta_admin"))
    assert caught.value.code in ("forbidden", "invalid_action")
