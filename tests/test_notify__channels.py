"""Real deliveries: a local SMTP server (aiosmtpd) and a local HTTP receiver get the
messages; a receiver that keeps failing gets retries with backoff, then admins see it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.factories import make_instance
from workflow import Engine
from workflow.models import UserContact
from workflow.notify import (
    EmailChannel,
    Notifier,
    SmtpSettings,
    WebhookChannel,
    deliver,
    failures,
    fan_out,
    render,
    requeue,
)
from workflow.notify.bell import latest, mark_read, unread_count
from workflow.notify.channels import webhook_payload
from workflow.scheduler import labeller
from workflow.store import OUTBOX

SHANGHAI = ZoneInfo("Asia/Shanghai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


class Receiver:
    """A local robot endpoint: records bodies, answers with ``status`` and ``answer``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        self.answer: dict = {"errcode": 0, "errmsg": "ok"}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                payload = json.dumps(receiver.answer).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/robot/send?access_token=t"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def give_email(engine: Engine, actor, username: str, address: str, language: str = "zh-CN",
               timezone: str = "Asia/Shanghai") -> None:
    with engine.db.write() as conn:
        conn.execute(UserContact.__table__.insert().values(
            user_id=actor(username).id, email=address, mobile="13800000000",
            language=language, timezone=timezone))


def pump(engine: Engine, notifier: Notifier) -> None:
    now = engine.clock.now()
    while fan_out(engine.db, notifier, now=now) or deliver(engine.db, notifier, owner="w1",
                                                             now=now):
        pass


def test_notify__email_reaches_a_real_smtp_server(engine, actor, smtp):
    box, port = smtp
    give_email(engine, actor, "head_smelting", "zhang@example.test")
    give_email(engine, actor, "head_power", "chen@example.test", language="en",
               timezone="Europe/Berlin")
    notifier = Notifier([EmailChannel(SmtpSettings("127.0.0.1", port, sender="flow@x.test"))],
                        labels=labeller(engine))
    make_instance(engine, actor("demo_proposer"), "suggestion")
    pump(engine, notifier)
    assert [rcpt for rcpt, _ in box.messages] == [["zhang@example.test"]]
    mail = message_from_bytes(box.messages[0][1])
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject.startswith("【待办】")
    body = mail.get_payload(decode=True).decode()
    assert "部门审核" in body and "2026-11-26 23:59 CST" in body
    pump(engine, notifier)
    assert len(box.messages) == 1  # sent once


@pytest.mark.parametrize("fmt,answer", [
    ("dingtalk", {"errcode": 0, "errmsg": "ok"}),
    ("wecom", {"errcode": 0, "errmsg": "ok"}),
    ("feishu", {"code": 0, "msg": "success"}),
])
def test_notify__webhook_robots_get_their_format(engine, actor, receiver, fmt, answer):
    receiver.answer = answer
    notifier = Notifier([WebhookChannel(receiver.url, fmt, secret="s3cret")],
                        labels=labeller(engine))
    make_instance(engine, actor("demo_proposer"), "suggestion")
    pump(engine, notifier)
    assert len(receiver.bodies) == 2  # the proposer's draft, then the department review
    body = receiver.bodies[-1]
    if fmt == "feishu":
        assert body["msg_type"] == "text" and "部门审核" in body["content"]["text"]
        assert body["sign"] and body["timestamp"]
    else:
        assert body["msgtype"] == "text" and "部门审核" in body["text"]["content"]
    with engine.db.read() as conn:
        statuses = conn.execute(select(OUTBOX.c.status).where(OUTBOX.c.channel == "webhook")
                                ).scalars().all()
    assert statuses == ["sent", "sent"]


def test_notify__failing_receiver_is_retried_with_backoff_then_shown_to_admins(
        engine, actor, receiver, clock):
    receiver.status = 500
    notifier = Notifier([WebhookChannel(receiver.url, "dingtalk")],
                        backoff=(timedelta(minutes=1), timedelta(minutes=5)))
    make_instance(engine, actor("demo_proposer"), "suggestion", submit=False)
    pump(engine, notifier)
    assert len(receiver.bodies) == 1
    clock.advance(seconds=59)
    pump(engine, notifier)
    assert len(receiver.bodies) == 1  # not before the backoff
    clock.advance(seconds=1)
    pump(engine, notifier)
    assert len(receiver.bodies) == 2
    clock.advance(minutes=4)
    pump(engine, notifier)
    assert len(receiver.bodies) == 2
    with engine.db.read() as conn:
        assert failures(conn) == []
    clock.advance(minutes=1)
    pump(engine, notifier)
    assert len(receiver.bodies) == 3
    with engine.db.read() as conn:
        failed = failures(conn)
    assert [(f.channel, f.key, f.attempts) for f in failed] == [("webhook", "task_opened", 3)]
    assert "HTTP 500" in (failed[0].last_error or "")
    clock.advance(days=1)
    pump(engine, notifier)
    assert len(receiver.bodies) == 3  # failed stays failed

    receiver.status = 200
    with engine.db.write() as conn:
        assert requeue(conn, failed[0].id, now=clock.now())
    pump(engine, notifier)
    assert len(receiver.bodies) == 4
    with engine.db.read() as conn:
        assert failures(conn) == []


def test_notify__robot_refusal_counts_as_failure(engine, actor, receiver):
    receiver.answer = {"errcode": 310000, "errmsg": "keywords not in content"}
    notifier = Notifier([WebhookChannel(receiver.url, "dingtalk")])
    make_instance(engine, actor("demo_proposer"), "suggestion", submit=False)
    pump(engine, notifier)
    with engine.db.read() as conn:
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.channel == "webhook")).one()
    assert row.status == "pending" and "310000" in row.last_error


def test_notify__in_app_bell(engine, actor, clock):
    make_instance(engine, actor("demo_proposer"), "suggestion")
    pump(engine, Notifier())
    head = actor("head_smelting")
    with engine.db.read() as conn:
        assert unread_count(conn, head.id) == 1
        [note] = latest(conn, head.id)
    assert note.key == "task_opened" and note.params["state"] == "under_department_review"
    with engine.db.write() as conn:
        assert mark_read(conn, head.id, [note.id], now=clock.now()) == 1
    with engine.db.read() as conn:
        assert unread_count(conn, head.id) == 0


def test_notify__channels_from_environment():
    env = {"INNOFLOW_SMTP_HOST": "mail.local", "INNOFLOW_SMTP_PORT": "2525",
           "INNOFLOW_SMTP_FROM": "flow@corp", "INNOFLOW_WEBHOOK_URL": "http://robot",
           "INNOFLOW_WEBHOOK_FORMAT": "wecom"}
    notifier = Notifier.from_environment(env)
    assert notifier.channel_names == ["inapp", "email", "webhook"]
    email = notifier.channels["email"]
    assert isinstance(email, EmailChannel) and email.settings.port == 2525
    assert Notifier.from_environment({}).channel_names == ["inapp"]
    with pytest.raises(ValueError, match="unknown webhook format"):
        Notifier.from_environment({"INNOFLOW_WEBHOOK_URL": "http://r",
                                   "INNOFLOW_WEBHOOK_FORMAT": "slack"})


def test_notify__templates_in_both_languages_and_the_readers_zone():
    params = {"title": "锂回收", "instance_id": 7, "state": "under_review",
              "due_at": datetime(2026, 10, 8, 15, 59, 59, tzinfo=ZoneInfo("UTC")).isoformat(),
              "stage": "overdue"}
    zh = render("reminder", params)
    assert zh.subject == "【逾期】锂回收"
    assert "2026-10-08 23:59 CST" in zh.body
    en = render("reminder", params, language="en", zone=ZoneInfo("Europe/Berlin"))
    assert en.subject == "Overdue: 锂回收"
    assert "2026-10-08 17:59 CEST" in en.body
    items = [{"title": f"T{i}", "instance_id": i, "state": "s", "due_at": None}
             for i in range(5)]
    digest = render("digest", {"day": "2026-10-09", "items": items, "more": 2}, cap=3)
    assert digest.subject == "【催办汇总】2026-10-09 共 7 项"
    assert digest.body.count("\n- ") == 3 and "另有 4 项" in digest.body
    assert "- 「T0」(#0) s\n" in digest.body
    for key in ("task_opened", "instance_moved", "escalation"):
        assert "{" not in render(key, {**params, "from": "a", "to": "b", "holder": "x"},
                                 language="en").body
    assert render("unknown_key", {"a": 1}).subject == "unknown_key"


def test_notify__webhook_payload_shapes():
    assert webhook_payload("dingtalk", "hi", ["138"]) == {
        "msgtype": "text", "text": {"content": "hi"},
        "at": {"atMobiles": ["138"], "isAtAll": False}}
    assert webhook_payload("wecom", "hi", ["138"])["text"]["mentioned_mobile_list"] == ["138"]
    assert webhook_payload("feishu", "hi") == {"msg_type": "text", "content": {"text": "hi"}}
