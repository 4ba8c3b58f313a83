"""Due work missed while everything was down is done once after the restart, and the same
jobs run from ``innoflow scheduler`` and inside ``innoflow serve``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select

from tests.factories import make_instance
from workflow import reminders
from workflow.cli import cli
from workflow.notify import Notifier
from workflow.notify.bell import NOTIFICATIONS
from workflow.scheduler import JOB_ID, Jobs, start_background
from workflow.store import OUTBOX

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def counts(engine) -> dict[str, int]:
    with engine.db.read() as conn:
        by_key = dict(conn.execute(select(OUTBOX.c.key, func.count())
                                   .where(OUTBOX.c.channel.is_(None))
                                   .group_by(OUTBOX.c.key)).all())
        by_kind = dict(conn.execute(select(reminders.EFFECTS.c.kind, func.count())
                                    .where(reminders.EFFECTS.c.status == "done")
                                    .group_by(reminders.EFFECTS.c.kind)).all())
        bell = conn.execute(select(func.count()).select_from(NOTIFICATIONS)).scalar_one()
    return {**by_key, **{f"rung:{k}": v for k, v in by_kind.items()}, "bell": bell}


def test_scheduler__work_missed_during_downtime_is_done_once(engine, actor, clock):
    clock.set(local(2026, 9, 28, 9))
    views = [make_instance(engine, actor("demo_proposer"), "suggestion") for _ in range(3)]
    assert all(v.state == "under_department_review" for v in views)
    # everything is down until the end of October; two schedulers come back at once
    clock.set(local(2026, 10, 30, 9, 30))
    workers = [Jobs(engine, Notifier()), Jobs(engine, Notifier())]
    for _ in range(3):
        for worker in workers:
            worker.run_until_idle()
    clock.advance(minutes=15)  # the digests' gathering time
    for worker in workers:
        worker.run_until_idle()
    first = counts(engine)
    assert first["reminder"] == 6  # before and overdue, for each of the three tasks
    assert first["escalation"] == 3
    assert first["rung:remind_before"] == first["rung:remind_overdue"] == 3
    assert first["rung:escalate"] == 3
    with engine.db.read() as conn:
        digests = conn.execute(select(NOTIFICATIONS.c.params).where(
            NOTIFICATIONS.c.key == "digest")).scalars().all()
    assert len(digests) == 1  # the department head's one digest of the day
    assert len(digests[0]["items"]) == 6
    for _ in range(2):
        clock.advance(minutes=30)
        for worker in workers:
            worker.run_until_idle()
    assert counts(engine) == first


def test_scheduler__cli_once_catches_up_and_reports(engine, actor, clock, monkeypatch):
    clock.set(local(2026, 9, 28, 9))
    make_instance(engine, actor("demo_proposer"), "suggestion")
    clock.set(local(2026, 10, 9, 9, 30))
    monkeypatch.setattr("workflow.service.build_engine", lambda: engine)
    result = CliRunner().invoke(cli, ["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "planned=1" in result.output and "rungs=2" in result.output
    assert "no working-day schedule for 2027" in result.output  # seeded up to 2026 only
    assert not engine.calendar.is_known_year(2027)
    assert engine.calendar.is_known_year(2026)
    again = CliRunner().invoke(cli, ["scheduler", "--once"])
    assert "rungs=0" in again.output and "delivered=0" in again.output


def test_scheduler__inside_serve_runs_the_same_jobs(engine):
    scheduler = start_background(engine, interval=3600, notifier=Notifier())
    try:
        job = scheduler.get_job(JOB_ID)
        assert job is not None
        jobs = job.args[0]
        assert isinstance(jobs, Jobs) and jobs.engine is engine
        assert job.trigger.interval == timedelta(hours=1)
    finally:
        scheduler.shutdown(wait=False)
