"""From the outbox to people, after the action's transaction has committed.

1. ``fan_out`` takes messages the engine (or the reminder ladder) wrote, finds their
   recipients (a person, or the holders of a role within a scope) and writes one outbox
   row per channel copy, each with a unique ``dedupe_key``; reminders are gathered into
   one digest per person per day instead. The message is marked ``dispatched`` in the
   same transaction.
2. ``deliver`` claims due copies with a lease, sends them, and marks them ``sent``; a
   failure is retried with backoff and finally marked ``failed`` (see ``failures``).
   In-app copies are rows written in the same transaction that marks them sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import OperationalError

from .. import leases, store
from ..calendar import DEFAULT_ZONE, zone_of
from ..db import Database
from ..models import InAppNotification, UserContact, table_of
from .channels import Channel, EmailChannel, Recipient, SmtpSettings, WebhookChannel
from .templates import Labeller, render

log = logging.getLogger(__name__)

OUTBOX = store.OUTBOX
NOTIFICATIONS = table_of(InAppNotification)
CONTACTS = table_of(UserContact)
INAPP = "inapp"
DISPATCHED, SENT = "dispatched", "sent"
DIGESTED = frozenset({"reminder"})
"""Message keys gathered into the daily digest rather than sent one by one."""
DEFAULT_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                   timedelta(hours=2))
"""Waits after the 1st, 2nd, … failed attempt; after the last one the copy is failed."""
FAN_OUT_BATCH = 500
DELIVER_BATCH = 100


@dataclass(frozen=True)
class Failure:
    """A copy that could not be delivered, for the admins' screen."""

    id: int
    channel: str
    key: str
    recipient_id: int | None
    instance_id: int | None
    attempts: int
    last_error: str | None
    created_at: datetime


class Notifier:
    """The configured channels and the rules for digests and retries."""

    def __init__(self, channels: Sequence[Channel] = (), *, digest_cap: int = 20,
                 digest_delay: timedelta = timedelta(minutes=10),
                 backoff: Sequence[timedelta] = DEFAULT_BACKOFF, webhook_language: str = "zh-CN",
                 labels: Labeller | None = None) -> None:
        self.channels: dict[str, Channel] = {c.name: c for c in channels}
        self.digest_cap = digest_cap
        self.digest_delay = digest_delay
        self.backoff = tuple(backoff)
        self.webhook_language = webhook_language
        self.labels = labels

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, *,
                         labels: Labeller | None = None) -> Notifier:
        """Channels from ``INNOFLOW_SMTP_*`` and ``INNOFLOW_WEBHOOK_*``; in-app always."""
        env = os.environ if env is None else env
        channels: list[Channel] = []
        if env.get("INNOFLOW_SMTP_HOST"):
            channels.append(EmailChannel(SmtpSettings(
                host=env["INNOFLOW_SMTP_HOST"],
                port=int(env.get("INNOFLOW_SMTP_PORT", "25")),
                user=env.get("INNOFLOW_SMTP_USER") or None,
                password=env.get("INNOFLOW_SMTP_PASSWORD") or None,
                sender=env.get("INNOFLOW_SMTP_FROM", "innoflow@localhost"),
                starttls=env.get("INNOFLOW_SMTP_STARTTLS") == "1",
            )))
        if env.get("INNOFLOW_WEBHOOK_URL"):
            channels.append(WebhookChannel(env["INNOFLOW_WEBHOOK_URL"],
                                           env.get("INNOFLOW_WEBHOOK_FORMAT", "dingtalk"),
                                           env.get("INNOFLOW_WEBHOOK_SECRET") or None))
        return cls(channels, digest_cap=int(env.get("INNOFLOW_DIGEST_CAP", "20")),
                   webhook_language=env.get("INNOFLOW_WEBHOOK_LANGUAGE", "zh-CN"),
                   labels=labels)

    @property
    def channel_names(self) -> list[str]:
        return [INAPP, *sorted(self.channels)]


# ------------------------------------------------------------------ fan-out


def fan_out(db: Database, notifier: Notifier, *, now: datetime,
            limit: int = FAN_OUT_BATCH) -> int:
    """Turn up to ``limit`` new messages into channel copies; the number handled."""
    try:
        with db.write() as conn:
            return _fan_out(conn, notifier, now, limit)
    except OperationalError as exc:  # a deadlock victim: its messages stay pending
        log.warning("fan-out rolled back, retried on the next run: %s", exc.orig)
        return 0


def _fan_out(conn: Connection, notifier: Notifier, now: datetime, limit: int) -> int:
    c = OUTBOX.c
    due = (select(OUTBOX).where(c.status == leases.PENDING, c.channel.is_(None),
                                c.next_attempt_at <= now)
           .order_by(c.next_attempt_at, c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=OUTBOX)
    messages = list(conn.execute(due))
    if not messages:
        return 0
    titles = _titles(conn, {m.instance_id for m in messages if m.instance_id})
    dues = _dues(conn, {m.instance_id for m in messages if m.key == "task_opened"
                        and m.instance_id and "due_at" not in m.params})
    people: dict[tuple[str, str], list[int]] = {}
    recipients: dict[int, list[int]] = {}
    for m in messages:
        if m.recipient_id is not None:
            recipients[m.id] = [m.recipient_id]
        else:
            pair = (m.role or "", m.scope or "")
            if pair not in people:
                people[pair] = [uid for uid, _ in store.role_holders(conn, *pair)]
            recipients[m.id] = people[pair]
    emails = _emails(conn, {uid for ids in recipients.values() for uid in ids})
    copies: list[dict[str, Any]] = []
    digest_items: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]] = {}
    for m in messages:
        params = {**m.params, "instance_id": m.instance_id,
                  **titles.get(m.instance_id, {})}
        deadline = dues.get((m.instance_id, str(params.get("state"))))
        if deadline is not None and "due_at" not in params:
            params["due_at"] = deadline.isoformat()
        for name in notifier.channel_names:
            channel = notifier.channels.get(name)
            if channel is not None and not channel.per_recipient and m.key not in DIGESTED:
                if recipients[m.id]:
                    copies.append(_copy(m, name, None, {**params,
                                                        "recipients": recipients[m.id]},
                                        f"{m.id}:{name}", now))
                continue
            for uid in recipients[m.id]:
                if name == "email" and uid not in emails:
                    continue
                if m.key in DIGESTED:
                    digest_items.setdefault((uid, name), []).append((m.id, _item(params)))
                else:
                    copies.append(_copy(m, name, uid, params, f"{m.id}:{name}:{uid}", now))
    leases.insert_once(conn, OUTBOX, copies, "dedupe_key")
    _add_to_digests(conn, notifier, digest_items, now)
    conn.execute(update(OUTBOX).where(c.id.in_([m.id for m in messages]))
                 .values(status=DISPATCHED, sent_at=now))
    return len(messages)


def _titles(conn: Connection, ids: set[int]) -> dict[int, dict[str, str]]:
    if not ids:
        return {}
    i = store.INSTANCES.c
    return {r.id: {"title": r.title, "workflow": r.workflow}
            for r in conn.execute(select(i.id, i.title, i.workflow).where(i.id.in_(ids)))}


def _dues(conn: Connection, ids: set[int]) -> dict[tuple[int, str], datetime]:
    """The deadline of each open step, to tell people when a new task is due."""
    if not ids:
        return {}
    t = store.TASKS.c
    found: dict[tuple[int, str], datetime] = {}
    for r in conn.execute(select(t.instance_id, t.state, t.due_at)
                          .where(t.instance_id.in_(ids), t.status == store.OPEN,
                                 t.due_at.is_not(None))):
        key = (r.instance_id, r.state)
        found[key] = min(found.get(key, r.due_at), r.due_at)
    return found


def _emails(conn: Connection, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(conn.execute(select(CONTACTS.c.user_id).where(
        CONTACTS.c.user_id.in_(ids), CONTACTS.c.email.is_not(None))).scalars())


def _copy(m: Any, channel: str, uid: int | None, params: dict[str, Any], key: str,
          now: datetime) -> dict[str, Any]:
    return {"created_at": now, "instance_id": m.instance_id, "recipient_id": uid,
            "role": m.role, "scope": m.scope, "key": m.key, "params": params,
            "status": leases.PENDING, "attempts": 0, "next_attempt_at": now, "sent_at": None,
            "last_error": None, "dedupe_key": key, "channel": channel}


def _item(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: params.get(k) for k in ("instance_id", "title", "workflow", "state", "due_at",
                                       "stage")}


def _digest_key(uid: int, channel: str, day: date) -> str:
    return f"digest:{uid}:{channel}:{day.isoformat()}"


def _add_to_digests(conn: Connection, notifier: Notifier,
                    targets: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]],
                    now: datetime) -> None:
    """Add reminders to each person's digest of today, or of the next day once today's left.

    Digest rows are created and locked in the order of their keys, so fan-outs running at
    the same time never wait for each other in a circle.
    """
    local = now.astimezone(DEFAULT_ZONE)
    pending = dict(targets)
    for offset in range(7):
        if not pending:
            return
        day = local.date() + timedelta(days=offset)
        send_at = now + notifier.digest_delay if offset == 0 else \
            datetime.combine(day, time(9), tzinfo=DEFAULT_ZONE)
        keys = {_digest_key(uid, name, day): (uid, name) for uid, name in pending}
        leases.insert_once(conn, OUTBOX, [{
            "created_at": now, "instance_id": None, "recipient_id": keys[key][0],
            "role": None, "scope": None, "key": "digest",
            "params": {"day": day.isoformat(), "items": [], "more": 0, "outbox_ids": []},
            "status": leases.PENDING, "attempts": 0, "next_attempt_at": send_at,
            "sent_at": None, "last_error": None, "dedupe_key": key, "channel": keys[key][1],
        } for key in sorted(keys)], "dedupe_key")
        stmt = select(OUTBOX.c.id, OUTBOX.c.dedupe_key, OUTBOX.c.status, OUTBOX.c.attempts,
                      OUTBOX.c.lease_owner, OUTBOX.c.params).where(
            OUTBOX.c.dedupe_key.in_(sorted(keys))).order_by(OUTBOX.c.dedupe_key)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        later: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]] = {}
        changes: list[dict[str, Any]] = []
        for digest in conn.execute(stmt):
            pair = keys[digest.dedupe_key]
            items = pending[pair]
            if not (digest.status == leases.PENDING and digest.attempts == 0
                    and digest.lease_owner is None):
                later[pair] = items
                continue
            params = dict(digest.params)
            listed = list(params.get("items") or [])
            room = max(notifier.digest_cap - len(listed), 0)
            params["items"] = listed + [item for _, item in items[:room]]
            params["more"] = int(params.get("more") or 0) + max(len(items) - room, 0)
            params["outbox_ids"] = list(params.get("outbox_ids") or []) + [i for i, _ in items]
            changes.append({"digest_id": digest.id, "new_params": params})
        if changes:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == bindparam("digest_id"))
                         .values(params=bindparam("new_params")), changes)
        pending = later
    raise RuntimeError("no open digest within a week")


# ------------------------------------------------------------------ delivery


def deliver(db: Database, notifier: Notifier, *, owner: str, now: datetime,
            limit: int = DELIVER_BATCH, lease: timedelta = leases.DEFAULT_LEASE,
            fault: Callable[[str], None] | None = None) -> int:
    """Claim due channel copies and send them; the number claimed."""
    with db.write() as conn:
        copies = leases.claim(conn, OUTBOX, owner=owner, now=now, limit=limit, lease=lease,
                              where=[OUTBOX.c.channel.is_not(None)])
    if not copies:
        return 0
    with db.read() as conn:
        people = _recipients(conn, {uid for c in copies for uid in _uids(c)})
    if fault is not None:
        fault("copy_claimed")
    _deliver_inapp(db, [c for c in copies if c.channel == INAPP], owner=owner, now=now)
    for copy in copies:
        if copy.channel == INAPP:
            continue
        channel = notifier.channels.get(copy.channel)
        try:
            if channel is None:
                raise RuntimeError(f"channel {copy.channel!r} is not configured here")
            targets = [people[u] for u in _uids(copy) if u in people]
            first = targets[0] if targets else None
            language = first.language if channel.per_recipient and first \
                else notifier.webhook_language
            zone = zone_of(first.timezone if channel.per_recipient and first else None)
            message = render(copy.key, copy.params, language=language, zone=zone,
                             labels=notifier.labels, cap=notifier.digest_cap)
            channel.send(message, targets)
        except Exception as exc:  # a failed copy is retried, never lost
            log.warning("delivery %s over %s failed: %s", copy.id, copy.channel, exc)
            with db.write() as conn:
                leases.retry_later(conn, OUTBOX, copy, owner=owner, now=now,
                                   error=f"{type(exc).__name__}: {exc}",
                                   backoff=notifier.backoff)
            continue
        if fault is not None:
            fault("copy_sent")
        with db.write() as conn:
            leases.finish(conn, OUTBOX, copy.id, owner=owner, status=SENT, sent_at=now)
    return len(copies)


def _uids(copy: Any) -> list[int]:
    if copy.recipient_id is not None:
        return [copy.recipient_id]
    return [int(u) for u in copy.params.get("recipients") or []]


def _recipients(conn: Connection, ids: set[int]) -> dict[int, Recipient]:
    if not ids:
        return {}
    u, c = store.USERS.c, CONTACTS.c
    rows = conn.execute(select(u.id, u.username, u.name, c.email, c.mobile, c.language,
                               c.timezone)
                        .outerjoin(CONTACTS, c.user_id == u.id).where(u.id.in_(ids)))
    return {r.id: Recipient(r.id, r.username, r.name, r.email, r.mobile,
                            r.language or "zh-CN", r.timezone or "Asia/Shanghai")
            for r in rows}


def _deliver_inapp(db: Database, copies: list[Any], *, owner: str, now: datetime) -> None:
    """In-app copies are rows: written in the transaction that marks them sent, so once."""
    if not copies:
        return
    with db.write() as conn:
        done = leases.finish_many(conn, OUTBOX, [c.id for c in copies], owner=owner,
                                  status=SENT, sent_at=now)
        leases.insert_once(conn, NOTIFICATIONS, [{
            "user_id": c.recipient_id, "source_key": c.dedupe_key, "key": c.key,
            "params": c.params, "instance_id": c.instance_id, "created_at": now,
            "read_at": None} for c in copies if c.id in done], "source_key")


# ------------------------------------------------------------------ for admins


def failures(conn: Connection, *, limit: int = 100) -> list[Failure]:
    """Copies that failed for good, newest first."""
    c = OUTBOX.c
    rows = conn.execute(select(OUTBOX).where(c.status == leases.FAILED)
                        .order_by(c.id.desc()).limit(limit))
    return [Failure(r.id, r.channel or "", r.key, r.recipient_id, r.instance_id, r.attempts,
                    r.last_error, r.created_at) for r in rows]


def requeue(conn: Connection, copy_id: int, *, now: datetime) -> bool:
    """An admin sends a failed copy again (after fixing the channel)."""
    c = OUTBOX.c
    return conn.execute(update(OUTBOX).where(c.id == copy_id, c.status == leases.FAILED)
                        .values(status=leases.PENDING, attempts=0, next_attempt_at=now,
                                lease_owner=None, lease_until=None)).rowcount == 1


def counts(conn: Connection) -> dict[str, int]:
    """Outbox rows by status (for monitoring)."""
    return {status: n for status, n in conn.execute(
        select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))}
