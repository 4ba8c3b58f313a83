"""Scheduled work: timers that move instances. Runs inside ``innoflow serve`` or alone.

Every firing goes through ``Engine.act`` with the instance's version, so when several
schedulers race for the same timer exactly one of them moves the instance.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .engine import Engine

log = logging.getLogger(__name__)


def run_once(engine: Engine) -> int:
    fired = engine.fire_due_timers()
    if fired:
        log.info("fired %d timer(s)", fired)
    return fired


def start_background(engine: Engine, *, interval: float = 30.0) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(run_once, "interval", args=[engine], seconds=interval,
                      id="timers", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def run_forever(engine: Engine, *, interval: float = 30.0) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(run_once, "interval", args=[engine], seconds=interval,
                      id="timers", max_instances=1, coalesce=True)
    log.info("scheduler running every %ss", interval)
    scheduler.start()
