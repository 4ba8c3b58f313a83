"""The overdue scan: most overdue first, a page at a time, nothing lost or repeated."""

from tests.factories import act, all_overdue, make_instance


def _overdue_tasks(engine, actor, clock):
    """Five suggestions waiting for their department head, one of them already at its
    experts; the three opened together share a deadline, as do the three experts' tasks."""
    proposer = actor("demo_proposer")
    made = [make_instance(engine, proposer, "suggestion") for _ in range(3)]
    clock.advance(hours=1)
    made += [make_instance(engine, proposer, "suggestion") for _ in range(2)]
    act(engine, made[0], "approve", actor("head_smelting"))
    clock.advance(days=60)
    return made


def test_overdue__most_overdue_first_with_what_a_chaser_needs(engine, actor, clock):
    made = _overdue_tasks(engine, actor, clock)
    page = engine.overdue(limit=100)
    tasks = page.items
    assert page.next is None
    assert [(t.role, t.instance_id) for t in tasks] == [
        *[("dept_head", m.id) for m in made[1:]], *[("expert", made[0].id)] * 3]
    assert [(t.due_at, t.id) for t in tasks] == sorted((t.due_at, t.id) for t in tasks)
    assert len({t.due_at for t in tasks}) < len(tasks)  # ties, broken by id
    assert all(t.overdue and t.status == "open" and t.workflow == "suggestion"
               for t in tasks)
    titles = {m.id: m.title for m in made}
    assert all(t.title == titles[t.instance_id] and t.title for t in tasks)
    assert sorted(t.assignee for t in tasks if t.role == "expert") == [
        "expert_smelting_1", "expert_smelting_2", "expert_smelting_3"]


def test_overdue__pages_cover_every_task_once_in_order(engine, actor, clock):
    _overdue_tasks(engine, actor, clock)
    whole = engine.overdue(limit=100).items
    assert len(whole) == 7
    for limit in (1, 2, 3, 6, 7, 8):
        assert all_overdue(engine, limit=limit) == list(whole)
        sizes = []
        page = engine.overdue(limit=limit)
        sizes.append(len(page.items))
        while page.next is not None:
            page = engine.overdue(limit=limit, after=page.next)
            sizes.append(len(page.items))
        assert sizes == [limit] * (7 // limit) + ([7 % limit] if 7 % limit else [])


def test_overdue__closing_a_seen_task_shifts_no_later_page(engine, actor, clock):
    _overdue_tasks(engine, actor, clock)
    whole = engine.overdue(limit=100).items
    first = engine.overdue(limit=2)
    assert first.items == whole[:2]
    chased = engine.get(first.items[0].instance_id, actor=actor("head_smelting"))
    act(engine, chased, "approve", actor("head_smelting"))  # its experts' deadlines lie ahead
    assert len(engine.overdue(limit=100).items) == len(whole) - 1
    rest = []
    page = first
    while page.next is not None:
        page = engine.overdue(limit=2, after=page.next)
        rest += page.items
    assert [t.id for t in rest] == [t.id for t in whole[2:]]


def test_overdue__nothing_before_the_deadline(engine, actor, clock):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    page = engine.overdue()
    assert (page.items, page.next) == ((), None)
