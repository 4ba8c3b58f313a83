"""The bell in the header, the notifications page in the reader's language, marking all read,
and the admins' list of failed deliveries with its requeue button."""

from __future__ import annotations

from sqlalchemy import insert, select

from tests.factories import make_instance
from tests.web_helpers import form_post
from workflow import leases, notify
from workflow.notify.bell import NOTIFICATIONS
from workflow.notify.dispatch import OUTBOX

pytest_plugins = ["tests.web_fixtures"]


def _deliver(engine):
    notifier = notify.Notifier()
    notify.fan_out(engine.db, notifier, now=engine.clock.now())
    notify.deliver(engine.db, notifier, owner="test", now=engine.clock.now())


def _unread(engine, username):
    from workflow import org

    with engine.db.read() as conn:
        uid = org.get_user(conn, username).id
        return len(list(conn.execute(select(NOTIFICATIONS.c.id).where(
            NOTIFICATIONS.c.user_id == uid, NOTIFICATIONS.c.read_at.is_(None)))))


def test_web__bell_counts_unread_and_the_page_renders_them_per_language(engine, actor,
                                                                          login):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    _deliver(engine)
    unread = _unread(engine, "head_smelting")
    assert unread >= 1
    head = login("head_smelting")
    inbox = head.get("/inbox").get_data(as_text=True)
    assert f'<span class="badge" id="bell-count">{unread}</span>' in inbox
    with head.session_transaction() as session:
        session["lang"] = "zh"
    html = head.get("/notifications").get_data(as_text=True)
    assert "【待办】" in html and f'href="/instances/{view.id}"' in html
    with head.session_transaction() as session:
        session["lang"] = "en"
    html = head.get("/notifications").get_data(as_text=True)
    assert "To do: " in html and "is waiting for you at" in html
    assert "Mark all read" in html
    response = form_post(head, "/notifications/read")
    assert response.status_code == 302
    assert _unread(engine, "head_smelting") == 0
    assert 'id="bell-count"' not in head.get("/inbox").get_data(as_text=True)
    assert 'id="bell"' in head.get("/inbox").get_data(as_text=True)


def test_web__marking_read_touches_only_the_users_own(engine, actor, login):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    _deliver(engine)
    before = _unread(engine, "head_smelting")
    assert form_post(login("demo_proposer"), "/notifications/read").status_code == 302
    assert _unread(engine, "head_smelting") == before


def test_web__failed_deliveries_are_listed_and_requeued(engine, login):
    now = engine.clock.now()
    with engine.db.write() as conn:
        copy_id = conn.execute(insert(OUTBOX).values(
            created_at=now, key="task_opened", params={"title": "x"}, status=leases.FAILED,
            attempts=5, next_attempt_at=now, channel="webhook",
            last_error="HTTP 500 from receiver").returning(OUTBOX.c.id)).scalar_one()
    admin = login("sta_admin")
    html = admin.get("/admin/notifications").get_data(as_text=True)
    assert "HTTP 500 from receiver" in html
    assert f"/admin/notifications/{copy_id}/requeue" in html
    response = form_post(admin, f"/admin/notifications/{copy_id}/requeue")
    assert response.status_code == 302
    with engine.db.read() as conn:
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == copy_id)).one()
    assert (row.status, row.attempts) == (leases.PENDING, 0)
    assert "HTTP 500 from receiver" not in admin.get("/admin/notifications").get_data(
        as_text=True)
    again = form_post(admin, f"/admin/notifications/{copy_id}/requeue")
    assert again.status_code == 302
    assert login("finance").get("/admin/notifications").status_code == 403
