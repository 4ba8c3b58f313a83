"""Many threads acting on the same task at the same moment, on SQLite and PostgreSQL.

Whatever the interleaving, an action is applied once: one transition, one audit event,
and every other caller gets a clean engine error — never ``database is locked``, never
a doubled transition. Afterwards every instance's audit trail replays to its stored
state and the hash chains verify.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import EXPERTS, ActorGetter, act, make_instance
from workflow import Engine, Forbidden, InvalidAction, VersionConflict, audit, store
from workflow.views import InstanceView

THREADS = 50
ROUNDS = 20
HANG_GUARD_SECONDS = 300
"""Only there so that a deadlock fails the test instead of hanging the run."""


def race(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` in ``count`` threads released together; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=HANG_GUARD_SECONDS)
            results[index] = call(index)
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_SECONDS)
    assert not any(t.is_alive() for t in threads), "a racing thread never finished"
    return results


def kinds(results: list[Any]) -> Counter[str]:
    """``Counter({"ok": 1, "version_conflict": 49})``; anything unexpected by its repr."""
    counted: Counter[str] = Counter()
    for result in results:
        if isinstance(result, InstanceView):
            counted["ok"] += 1
        elif isinstance(result, VersionConflict | InvalidAction | Forbidden):
            counted[result.code] += 1
        else:
            counted[repr(result)] += 1
    return counted


def events(engine: Engine, instance_id: int) -> list[Any]:
    with engine.db.read() as conn:
        return store.events_of(conn, instance_id)


def instance_row(engine: Engine, instance_id: int) -> Any:
    with engine.db.read() as conn:
        return store.load_instance(conn, instance_id, lock=False)


def step_tasks(engine: Engine, instance_id: int, state: str) -> list[Any]:
    with engine.db.read() as conn:
        return list(conn.execute(select(store.TASKS).where(
            store.TASKS.c.instance_id == instance_id, store.TASKS.c.state == state)
            .order_by(store.TASKS.c.id)))


def assert_replays_and_verifies(engine: Engine, instance_ids: list[int]) -> None:
    for instance_id in instance_ids:
        row = instance_row(engine, instance_id)
        assert engine.replay(instance_id) == (row.state, row.data), instance_id
    with engine.db.read() as conn:
        checked, broken = audit.verify(conn)
        total = conn.execute(select(func.count()).select_from(store.EVENTS)).scalar_one()
    assert broken is None, str(broken)
    assert checked == total


@pytest.mark.slow
def test_engine__fifty_approvals_with_expected_version_make_one_transition(engine, actor):
    proposer, head = actor("demo_proposer"), actor("head_smelting")
    raced = []
    for _round in range(ROUNDS):
        view = make_instance(engine, proposer, "suggestion")
        assert view.state == "under_department_review"
        before = len(events(engine, view.id))

        results = race(THREADS, lambda _i, v=view: engine.act(
            v.id, "approve", actor=head, expected_version=v.version))

        assert kinds(results) == {"ok": 1, "version_conflict": THREADS - 1}
        winner = next(r for r in results if isinstance(r, InstanceView))
        assert winner.state == "under_expert_review"
        assert winner.version == view.version + 1
        row = instance_row(engine, view.id)
        assert (row.state, row.version) == ("under_expert_review", view.version + 1)
        trail = events(engine, view.id)
        assert len(trail) == before + 1
        assert [e["action"] for e in trail].count("approve") == 1
        review = step_tasks(engine, view.id, "under_department_review")
        assert [(t.status, t.decision, t.completed_by) for t in review] == [
            ("done", "approve", head.id)]
        expert_tasks = step_tasks(engine, view.id, "under_expert_review")
        assert sorted(t.assignee_id for t in expert_tasks) == sorted(
            actor(name).id for name in EXPERTS["smelting"])
        raced.append(view.id)
    assert_replays_and_verifies(engine, raced)


@pytest.mark.slow
def test_engine__fifty_approvals_without_expected_version_make_one_transition(engine, actor):
    proposer, head = actor("demo_proposer"), actor("head_smelting")
    raced = []
    for _round in range(ROUNDS):
        view = make_instance(engine, proposer, "suggestion")
        before = len(events(engine, view.id))

        results = race(THREADS, lambda _i, v=view: engine.act(v.id, "approve", actor=head))

        counted = kinds(results)
        assert counted["ok"] == 1, counted
        assert set(counted) <= {"ok", "invalid_action", "forbidden"}, counted
        assert sum(counted.values()) == THREADS
        row = instance_row(engine, view.id)
        assert (row.state, row.version) == ("under_expert_review", view.version + 1)
        trail = events(engine, view.id)
        assert len(trail) == before + 1
        assert [e["action"] for e in trail].count("approve") == 1
        assert len(step_tasks(engine, view.id, "under_expert_review")) == len(
            EXPERTS["smelting"])
        raced.append(view.id)
    assert_replays_and_verifies(engine, raced)


SCORES = {
    "expert_smelting_1": {"innovation": 90, "feasibility": 70, "benefit": 80},
    "expert_smelting_2": {"innovation": 60, "feasibility": 65, "benefit": 70},
    "expert_smelting_3": {"innovation": 100, "feasibility": 95, "benefit": 90},
}
"""Different scores per expert, so a score counted twice or lost changes the result."""


def scored_one_by_one(engine: Engine, actor: ActorGetter) -> dict[str, Any]:
    """The data an instance ends with when the experts score one after another."""
    view = act(engine, make_instance(engine, actor("demo_proposer"), "suggestion"), "approve",
               actor("head_smelting"))
    for name, scores in SCORES.items():
        view = engine.act(view.id, "score", actor=actor(name), data=scores)
    assert view.state == "under_committee_review"
    assert "expert_score" in view.data
    return dict(view.data)


@pytest.mark.slow
def test_engine__experts_scoring_at_once_each_count_once(engine, actor):
    """会签: every expert scores at the same moment, each from several threads at once."""
    proposer, head = actor("demo_proposer"), actor("head_smelting")
    experts = [actor(name) for name in EXPERTS["smelting"]]
    assert sorted(SCORES) == [e.username for e in experts]
    expected = scored_one_by_one(engine, actor)
    raced = []
    for _round in range(ROUNDS):
        view = act(engine, make_instance(engine, proposer, "suggestion"), "approve", head)
        assert view.state == "under_expert_review"
        before = len(events(engine, view.id))

        def score(index: int, instance_id: int = view.id) -> InstanceView:
            expert = experts[index % len(experts)]
            return engine.act(instance_id, "score", actor=expert,
                              data=SCORES[expert.username])

        results = race(THREADS, score)

        counted = kinds(results)
        assert counted["ok"] == len(experts), counted
        assert set(counted) <= {"ok", "invalid_action", "forbidden"}, counted
        succeeded = Counter(experts[i % len(experts)].username
                            for i, r in enumerate(results) if isinstance(r, InstanceView))
        assert succeeded == Counter(list(SCORES))
        row = instance_row(engine, view.id)
        assert row.state == "under_committee_review"
        assert row.version == view.version + len(experts)
        assert row.data == expected
        trail = events(engine, view.id)[before:]
        assert sorted(e["actor"] for e in trail) == sorted(SCORES)
        assert [e["fired"] for e in trail] == [False] * (len(experts) - 1) + [True]
        assert {e["actor"]: e["data"] for e in trail} == SCORES
        done = step_tasks(engine, view.id, "under_expert_review")
        assert sorted((t.status, t.completed_by) for t in done) == sorted(
            ("done", e.id) for e in experts)
        assert len(step_tasks(engine, view.id, "under_committee_review")) == 1
        raced.append(view.id)
    assert_replays_and_verifies(engine, raced)
