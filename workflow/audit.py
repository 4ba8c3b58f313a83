"""The append-only, hash-chained audit trail: hashing and verification.

Each instance has its own chain (seq 1, 2, …); every event carries the hash of the one
before and the instance row carries the hash of the newest, so an edited, deleted,
inserted or reordered event breaks a link that :func:`verify` names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from .actors import Actor
from .models import AuditEvent, Instance, table_of
from .recent import Recent

GENESIS = "0" * 64
_EVENTS = table_of(AuditEvent)
_INSTANCES = table_of(Instance)


def _iso(moment: datetime) -> str:
    found = _ISO.get(moment)
    if found is None:
        found = _ISO.remember(moment, moment.astimezone(UTC).isoformat(timespec="microseconds"))
    return found


_ISO: Recent[datetime, str] = Recent(1_000)
"""Instants lately hashed (an action hashes its events at one instant)."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=str)
"""The one JSON form every event is hashed in (built once: it never changes)."""


def event_hash(event: Mapping[str, Any]) -> str:
    body = [
        event["instance_id"], event["seq"], _iso(event["at"]), event["actor"],
        event["on_behalf_of"], event["action"], event["outcome"], event["from_state"],
        event["to_state"], bool(event["fired"]), event["target"], event["comment"],
        event["data"], event["changes"], event["prev_hash"],
    ]
    canonical = _CANONICAL.encode(body)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_event(row: Mapping[str, Any], seq: int, now: datetime, actor: Actor,
              principal: Actor | None, action: str, outcome: str, to_state: str, fired: bool,
              target: str | None, comment: str | None, data: Mapping[str, Any],
              changes: Mapping[str, Any]) -> dict[str, Any]:
    """The next event of the instance ``row`` (before this action), chained to its head."""
    event = {
        "instance_id": row["id"], "seq": seq, "at": now, "actor": actor.username,
        "on_behalf_of": principal.username if principal else None, "action": action,
        "outcome": outcome, "from_state": row["state"], "to_state": to_state, "fired": fired,
        "target": target, "comment": comment or None, "data": dict(data),
        "changes": dict(changes), "prev_hash": row["audit_head"],
    }
    event["hash"] = event_hash(event)
    return event


@dataclass(frozen=True)
class BrokenLink:
    instance_id: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"instance {self.instance_id}, event {self.seq}: {self.reason}"


def _check_chain(instance_id: int, head: str, count: int,
                 events: Iterable[Mapping[str, Any]]) -> BrokenLink | None:
    previous = GENESIS
    expected_seq = 1
    for event in events:
        if event["seq"] != expected_seq:
            return BrokenLink(instance_id, expected_seq, f"missing; found event {event['seq']}")
        if event["prev_hash"] != previous:
            return BrokenLink(instance_id, event["seq"], "does not follow the event before it")
        if event_hash(event) != event["hash"]:
            return BrokenLink(instance_id, event["seq"], "its content does not match its hash")
        previous = event["hash"]
        expected_seq += 1
    last = expected_seq - 1
    if last > count:
        return BrokenLink(instance_id, count + 1, "not recorded by the instance")
    if last < count:
        return BrokenLink(instance_id, expected_seq,
                          "missing; the instance records a later newest event")
    if previous != head:
        return BrokenLink(instance_id, last, "is not the newest event the instance records")
    return None


def verify(conn: Connection, batch: int = 500) -> tuple[int, BrokenLink | None]:
    """Check every chain; the number of events checked and the first broken link, if any."""
    checked = 0
    last_id = 0
    while True:
        rows = conn.execute(
            select(_INSTANCES.c.id, _INSTANCES.c.audit_head, _INSTANCES.c.audit_seq)
            .where(_INSTANCES.c.id > last_id).order_by(_INSTANCES.c.id).limit(batch)
        ).all()
        if not rows:
            orphan = conn.execute(
                select(_EVENTS.c.instance_id, _EVENTS.c.seq)
                .where(_EVENTS.c.instance_id.not_in(select(_INSTANCES.c.id))).limit(1)
            ).first()
            if orphan:
                return checked, BrokenLink(orphan.instance_id, orphan.seq,
                                           "belongs to no instance")
            return checked, None
        ids = [r.id for r in rows]
        events: dict[int, list[Mapping[str, Any]]] = {i: [] for i in ids}
        for event in conn.execute(
            select(_EVENTS).where(_EVENTS.c.instance_id.in_(ids))
            .order_by(_EVENTS.c.instance_id, _EVENTS.c.seq, _EVENTS.c.id)
        ).mappings():
            events[event["instance_id"]].append(dict(event))
        for row in rows:
            broken = _check_chain(row.id, row.audit_head, row.audit_seq, events[row.id])
            if broken:
                return checked, broken
            checked += len(events[row.id])
        last_id = ids[-1]
