"""A step that nobody eligible can act on tells the S&T admins, who give its role to
someone else; and every message the engine writes reads as a sentence, not as its key."""

from __future__ import annotations

import pytest

from tests.factories import make_instance, outbox
from workflow import org
from workflow.notify.templates import LANGUAGES, render

HEAD_ON_TEAM = [{"username": "demo_proposer", "share": 60},
                {"username": "head_smelting", "share": 40}]


def test_engine__a_department_review_nobody_may_act_on_tells_the_admins(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion", team=HEAD_ON_TEAM)
    assert view.state == "under_department_review"
    notices = outbox(engine, "nobody_eligible")
    assert [(n["instance_id"], n["role"], n["scope"]) for n in notices] == \
        [(view.id, "sta_admin", "")]
    assert notices[0]["params"] == {"state": "under_department_review", "role": "dept_head",
                                    "scope": "smelting"}
    assert engine.inbox(actor=actor("head_smelting")) == []  # he stands aside

    with engine.db.write() as conn:  # what the admin does: the role to a deputy
        org.set_roles(conn, username="demo_colleague", roles=["dept_head@smelting"])
    deputy = actor("demo_colleague")
    assert [t.instance_id for t in engine.inbox(actor=deputy)] == [view.id]
    assert engine.act(view.id, "approve", actor=deputy).state == "under_expert_review"


def test_engine__a_department_review_someone_may_act_on_tells_nobody(engine, actor):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    assert outbox(engine, "nobody_eligible") == []


@pytest.mark.parametrize("key, params", [
    ("copied", {"state": "under_expert_review"}),
    ("urged", {"state": "under_department_review", "due_at": "2026-11-25T15:59:59+00:00"}),
    ("flagged", {"key": "milestone:pilot", "reason": "milestone pilot missed"}),
    ("nobody_eligible", {"state": "under_department_review", "role": "dept_head",
                         "scope": "smelting"}),
])
def test_notify__every_message_the_engine_writes_has_its_text(key, params):
    for language in LANGUAGES:
        rendered = render(key, {"title": "Reuse condensate", "instance_id": 7, **params},
                          language=language)
        assert rendered.subject != key and "Reuse condensate" in rendered.subject
        assert "#7" in rendered.body and "{" not in rendered.text
