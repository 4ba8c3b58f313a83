"""Many due reminders at once, and scheduler workers that send them (tests and bench).

``seed`` drives one real suggestion through the engine and copies its open task N times
(one instance and one task each, spread over ``users`` people), so that at ``DUE_AT`` each
task has exactly one due rung: the reminder one working day before its deadline.
``work`` is one scheduler worker (a process or a thread) with its own Database; the
``record`` channel appends one line per delivered digest to a file, naming the
instances listed in it, so a test can count every reminder that reached a person.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from workflow import Database, Engine, FakeClock, demo, org
from workflow.calendar import WorkingCalendar
from workflow.notify import Notifier, Rendered
from workflow.notify.channels import Recipient
from workflow.scheduler import Jobs
from workflow.store import INSTANCES, OPEN, TASKS, USERS

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED_AT = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)
"""Monday: the tasks open, due Thursday 26th at the end of the day."""
DUE_AT = datetime(2026, 11, 25, 10, tzinfo=SHANGHAI)
"""Wednesday 10:00: each task's reminder (one working day before) is due; nothing else."""
MOMENTS = (DUE_AT, DUE_AT + timedelta(minutes=15), DUE_AT + timedelta(days=1))
"""A worker's day: reminders at 10:00, digests after their gathering delay, late ones next day."""
CALENDAR_YEARS = range(2024, 2028)
DIGEST = "【催办汇总】"


def calendar() -> WorkingCalendar:
    return WorkingCalendar.from_package(CALENDAR_YEARS)


def seed(engine: Engine, *, reminders: int, users: int, chunk: int = 2000) -> None:
    """``reminders`` open tasks due soon, held by ``users`` people (round robin)."""
    clock = engine.clock
    assert isinstance(clock, FakeClock)
    clock.set(OPENED_AT)
    with engine.db.write() as conn:
        demo.load(conn, now=clock.now(), password=None)
        proposer = org.actor_by_username(conn, "demo_proposer")
    definition = engine.catalog.newest("suggestion").definition
    data = dict(definition.start_schema["examples"][0])
    view = engine.start("suggestion", actor=proposer, data=data)
    view = engine.act(view.id, "submit", actor=proposer)
    with engine.db.read() as conn:
        instance = dict(conn.execute(select(INSTANCES).where(INSTANCES.c.id == view.id))
                        .one()._mapping)
        task = dict(conn.execute(select(TASKS).where(TASKS.c.instance_id == view.id,
                                                     TASKS.c.status == OPEN)).one()._mapping)
        user = dict(conn.execute(select(USERS).where(USERS.c.id == proposer.id)).one()._mapping)
    engine.act(view.id, "withdraw", actor=proposer)  # its own task leaves the count
    for row in (instance, task, user):
        row.pop("id")
    user_ids: list[int] = []
    with engine.db.write() as conn:
        for start in range(0, users, chunk):
            rows = [{**user, "username": f"load_{n:06d}", "name": f"Load {n}"}
                    for n in range(start, min(start + chunk, users))]
            user_ids += list(conn.execute(insert(USERS).returning(
                USERS.c.id, sort_by_parameter_order=True), rows).scalars())
    for start in range(0, reminders, chunk):
        count = min(chunk, reminders - start)
        with engine.db.write() as conn:
            ids = list(conn.execute(insert(INSTANCES).returning(
                INSTANCES.c.id, sort_by_parameter_order=True),
                [{**instance, "title": f"Load {start + n}"} for n in range(count)]).scalars())
            conn.execute(insert(TASKS), [
                {**task, "instance_id": iid, "assignee_id": user_ids[(start + n) % users]}
                for n, iid in enumerate(ids)])
    clock.set(DUE_AT)


class FileRecorder:
    """A channel that appends what it sends to a file (shared by processes and threads)."""

    name = "record"
    per_recipient = True
    _lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path

    def send(self, message: Rendered, recipients: Sequence[Recipient]) -> None:
        line = json.dumps({"user": recipients[0].username if recipients else None,
                           "subject": message.subject,
                           "ids": [int(i) for i in re.findall(r"\(#(\d+)\)", message.body)],
                           "pid": os.getpid()}) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)


def read_record(path: str | Path) -> list[dict[str, Any]]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


@dataclass(frozen=True)
class Tally:
    digests: int
    per_instance: Counter[int]
    per_user_day: Counter[tuple[str, str]]


def tally(path: str | Path) -> Tally:
    lines = [line for line in read_record(path) if line["subject"].startswith(DIGEST)]
    return Tally(
        digests=len(lines),
        per_instance=Counter(i for line in lines for i in line["ids"]),
        per_user_day=Counter((line["user"], line["subject"].split(" ")[0]) for line in lines),
    )


def work(url: str, record: str, *, moments: Sequence[datetime] = MOMENTS,
         kill_at: str | None = None, lease_seconds: float = 300.0,
         barrier: Any = None) -> None:
    """One scheduler worker with its own Database; ``kill_at`` SIGKILLs it at that point.

    Workers given a ``barrier`` move to the next moment together: their fake clocks stand
    for one wall clock (a worker whose clock ran a day ahead would take over every lease).
    """
    db = Database(url)
    clock = FakeClock(moments[0])
    engine = Engine(db, clock=clock, calendar=calendar())
    engine.load_definitions()

    def fault(point: str) -> None:
        if point == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    jobs = Jobs(engine, Notifier([FileRecorder(record)], digest_cap=1000,
                                 digest_delay=timedelta(minutes=10)),
                lease=timedelta(seconds=lease_seconds), fault=fault if kill_at else None)
    try:
        for moment in moments:
            clock.set(moment)
            jobs.run_until_idle()
            if barrier is not None:
                barrier.wait()
    finally:
        db.dispose()
