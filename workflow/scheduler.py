"""Scheduled work. Runs inside ``innoflow serve`` or alone (``innoflow scheduler``).

Each run does, in order: fire due timers (through ``Engine.act`` with the instance's
version, so a race fires once), plan and perform the reminder ladder, fan out new
notifications and deliver due copies. APScheduler only says *when* to run; who does which
item is decided in the database by claims with leases and unique keys per effect
(``workflow.leases``), so any number of schedulers on PostgreSQL (or threads on SQLite)
do each piece of work once, and work missed while everything was down is done once at
the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import func, select

from . import calendar as working_days
from . import leases, milestones, reminders
from .engine import Engine
from .notify.dispatch import Notifier, deliver, fan_out

log = logging.getLogger(__name__)

JOB_ID = "innoflow"


@dataclass
class Jobs:
    """The scheduler's jobs for one worker (one process or one thread)."""

    engine: Engine
    notifier: Notifier = field(default_factory=Notifier)
    owner: str = field(default_factory=leases.worker_name)
    lease: timedelta = leases.DEFAULT_LEASE
    fault: Callable[[str], None] | None = None
    """Tests set this to a callable(point) that may raise (or kill) between two steps."""

    def refresh_calendar(self) -> None:
        """Deadlines follow the calendar table once it has been seeded or entered."""
        with self.engine.db.read() as conn:
            years = conn.execute(select(func.count()).select_from(working_days.YEARS)
                                 ).scalar_one()
            if years:
                self.engine.calendar = working_days.load(conn, self.engine.calendar.zone)

    def run_once(self) -> dict[str, int]:
        """One pass over every job; how many items each one handled."""
        engine = self.engine
        done = {"timers": engine.fire_due_timers()}
        now = engine.clock.now()
        done["planned"] = reminders.plan(engine, now=now)
        done["milestones"] = milestones.plan(engine, now=now)
        done["rungs"] = reminders.run_due(engine, owner=self.owner, now=now, lease=self.lease,
                                          fault=self.fault)
        done["fanned_out"] = fan_out(engine.db, self.notifier, now=now)
        done["delivered"] = deliver(engine.db, self.notifier, owner=self.owner, now=now,
                                    lease=self.lease, fault=self.fault)
        if any(done.values()):
            log.info("scheduler run: %s", done)
        return done

    def run_until_idle(self, *, max_runs: int = 100_000) -> dict[str, int]:
        """Repeat runs until one finds nothing to do (a catch-up); totals per job."""
        totals: dict[str, int] = {}
        for _ in range(max_runs):
            done = self.run_once()
            for key, value in done.items():
                totals[key] = totals.get(key, 0) + value
            if not any(done.values()):
                break
        return totals


def run_once(engine: Engine, notifier: Notifier | None = None) -> dict[str, int]:
    return Jobs(engine, notifier or Notifier.from_environment(labels=labeller(engine))
                ).run_once()


def labeller(engine: Engine) -> Callable[[str, str, str], str]:
    """State labels from the engine's definitions, in the reader's language."""

    def label(workflow: str, state: str, language: str) -> str:
        texts = engine.catalog.newest(workflow).definition.states[state].label
        return texts.get("zh" if language.startswith("zh") else "en") or state

    return label


def _jobs(engine: Engine, notifier: Notifier | None) -> Jobs:
    jobs = Jobs(engine, notifier or Notifier.from_environment(labels=labeller(engine)))
    jobs.refresh_calendar()
    return jobs


def _tick(jobs: Jobs) -> None:
    try:
        jobs.refresh_calendar()
        jobs.run_until_idle(max_runs=50)
    except Exception:  # the next tick tries again; nothing is lost
        log.exception("scheduler run failed")


def start_background(engine: Engine, *, interval: float = 30.0,
                     notifier: Notifier | None = None) -> BackgroundScheduler:
    """The scheduler inside ``innoflow serve``: the same jobs, on a background thread."""
    jobs = _jobs(engine, notifier)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(_tick, "interval", args=[jobs], seconds=interval, id=JOB_ID,
                      max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def run_forever(engine: Engine, *, interval: float = 30.0,
                notifier: Notifier | None = None) -> None:
    """``innoflow scheduler``: catch up on missed work at once, then run every ``interval``."""
    jobs = _jobs(engine, notifier)
    _tick(jobs)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(_tick, "interval", args=[jobs], seconds=interval, id=JOB_ID,
                      max_instances=1, coalesce=True)
    log.info("scheduler %s running every %ss", jobs.owner, interval)
    scheduler.start()
