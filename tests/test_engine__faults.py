"""A failure between any two writes of an action leaves every table exactly as it was.

The engine calls ``fault_hook(point)`` between its writes. A successful run records the
points each kind of action passes; then, for each of them in turn, the hook raises there,
the database must be unchanged, and the same action must then succeed and replay.
New points in the engine are covered without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.factories import (
    ActorGetter,
    act,
    make_instance,
    start_data,
    suggestion_to_committee,
)
from tests.snapshot import assert_unchanged, snapshot
from workflow import Actor, Engine, audit, org
from workflow.views import InstanceView

Perform = Callable[[], InstanceView]


class InjectedFault(Exception):
    """Raised by the hook; nothing in the engine knows or catches it."""


class Recorder:
    def __init__(self) -> None:
        self.points: list[str] = []

    def __call__(self, point: str) -> None:
        self.points.append(point)


class FailAt:
    """Raise at the ``index``-th point the engine passes (counting from 0)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.seen: list[str] = []

    def __call__(self, point: str) -> None:
        self.seen.append(point)
        if len(self.seen) - 1 == self.index:
            raise InjectedFault(point)


@dataclass(frozen=True)
class Outcome:
    state: str
    spawns_payout: bool = False


def plain_transition(engine: Engine, actor: ActorGetter) -> Perform:
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    return lambda: act(engine, view, "approve", actor("head_smelting"))


def partial_approval(engine: Engine, actor: ActorGetter) -> Perform:
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    return lambda: act(engine, view, "score", actor("expert_smelting_2"))


def spawning_transition(engine: Engine, actor: ActorGetter) -> Perform:
    view = suggestion_to_committee(engine, actor)
    view = act(engine, view, "adopt", actor("committee_office"))
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"))
    return lambda: act(engine, view, "decide_reward", actor("sta_admin"))


def return_for_revision(engine: Engine, actor: ActorGetter) -> Perform:
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    return lambda: act(engine, view, "return_for_revision", actor("head_smelting"),
                       comment="Please add the measured condensate volume.")


def start(engine: Engine, actor: ActorGetter) -> Perform:
    proposer = actor("demo_proposer")
    return lambda: engine.start("suggestion", actor=proposer,
                                data=start_data(engine, "suggestion"))


KINDS: dict[str, tuple[Callable[[Engine, ActorGetter], Perform], Outcome]] = {
    "plain_transition": (plain_transition, Outcome("under_expert_review")),
    "partial_approval_in_mode_all": (partial_approval, Outcome("under_expert_review")),
    "transition_spawning_a_payout": (spawning_transition, Outcome("closed", spawns_payout=True)),
    "return_for_revision": (return_for_revision, Outcome("returned_for_revision")),
    "start": (start, Outcome("draft")),
}


def check_succeeded(engine: Engine, view: InstanceView, outcome: Outcome) -> None:
    assert view.state == outcome.state
    assert ("payout" in view.links) is outcome.spawns_payout
    related = [view.id, *view.links.get("payout", [])]
    for instance_id in related:
        stored = engine.get(instance_id, actor=_auditor(engine))
        assert engine.replay(instance_id) == (stored.state, dict(stored.data))
    with engine.db.read() as conn:
        _checked, broken = audit.verify(conn)
    assert broken is None, str(broken)


def _auditor(engine: Engine) -> Actor:
    with engine.db.read() as conn:
        return org.actor_by_username(conn, "auditor")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_engine__fault_at_any_point_changes_nothing(engine, actor, kind):
    setup, outcome = KINDS[kind]

    perform = setup(engine, actor)
    recorder = Recorder()
    engine.fault_hook = recorder
    check_succeeded(engine, perform(), outcome)
    points = recorder.points
    assert len(set(points)) >= 3, f"{kind} passes too few fault points: {points}"

    for index, point in enumerate(points):
        engine.fault_hook = None
        perform = setup(engine, actor)
        before = snapshot(engine.db)
        engine.fault_hook = FailAt(index)

        with pytest.raises(InjectedFault) as raised:
            perform()

        assert str(raised.value) == point, f"the run took another path: {engine.fault_hook.seen}"
        assert_unchanged(engine.db, before)
        engine.fault_hook = None
        check_succeeded(engine, perform(), outcome)
