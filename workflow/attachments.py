"""Attachments: metadata rows; the bytes are stored by the caller under a random name.

The content type is decided from the first bytes, never from the name or the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from .models import Attachment, table_of

ATTACHMENTS = table_of(Attachment)

_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
)


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    instance_id: int
    filename: str
    stored_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int
    uploaded_at: datetime


def sniff(head: bytes) -> str | None:
    """The content type of an accepted file from its first bytes, or None if not accepted."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is fine
            return None
    return "text/plain"


def add(conn: Connection, *, instance_id: int, filename: str, stored_name: str,
        content_type: str, size: int, sha256: str, uploaded_by: int, now: datetime) -> int:
    return int(conn.execute(insert(ATTACHMENTS).values(
        instance_id=instance_id, filename=filename[:200], stored_name=stored_name,
        content_type=content_type, size=size, sha256=sha256, uploaded_by=uploaded_by,
        uploaded_at=now).returning(ATTACHMENTS.c.id)).scalar_one())


def of_instance(conn: Connection, instance_id: int) -> list[AttachmentInfo]:
    rows = conn.execute(select(ATTACHMENTS).where(ATTACHMENTS.c.instance_id == instance_id)
                        .order_by(ATTACHMENTS.c.id))
    return [_info(r) for r in rows]


def get(conn: Connection, attachment_id: int) -> AttachmentInfo | None:
    row = conn.execute(select(ATTACHMENTS).where(ATTACHMENTS.c.id == attachment_id)).first()
    return _info(row) if row else None


def _info(r: Any) -> AttachmentInfo:
    return AttachmentInfo(r.id, r.instance_id, r.filename, r.stored_name, r.content_type,
                          r.size, r.sha256, r.uploaded_by, r.uploaded_at)
