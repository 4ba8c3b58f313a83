"""Tables. ORM classes stay inside persistence; values leaving the engine are dataclasses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, also on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; times are timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class Field(Base):
    __tablename__ = "fields"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope"), Index(None, "role", "scope"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(40), default="")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class DefinitionVersion(Base):
    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("name", "version"), UniqueConstraint("name", "content_hash"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    file: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime]


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index(None, "workflow", "state"),
        Index(None, "created_by", "created_at"),
        Index("ix_instances_timer_due", "timer_due_at",
              sqlite_where=text("timer_due_at IS NOT NULL"),
              postgresql_where=text("timer_due_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    workflow: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    state_entered_at: Mapped[datetime]
    state_visit: Mapped[int] = mapped_column(Integer)
    returned_from: Mapped[str | None] = mapped_column(String(60))
    first_approved_at: Mapped[datetime | None]
    timer_due_at: Mapped[datetime | None]
    audit_seq: Mapped[int] = mapped_column(Integer)
    audit_head: Mapped[str] = mapped_column(String(64))


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index(None, "instance_id", "visit"),
        # The inbox: pooled tasks by role and scope, and personal tasks, open only.
        Index("ix_tasks_open_pool", "role", "scope", "due_at", "id",
              sqlite_where=text("status = 'open' AND assignee_id IS NULL"),
              postgresql_where=text("status = 'open' AND assignee_id IS NULL")),
        Index("ix_tasks_open_assignee", "assignee_id", "due_at", "id",
              sqlite_where=text("status = 'open' AND assignee_id IS NOT NULL"),
              postgresql_where=text("status = 'open' AND assignee_id IS NOT NULL")),
        # The overdue scan.
        Index("ix_tasks_open_due", "due_at", "id",
              sqlite_where=text("status = 'open' AND due_at IS NOT NULL"),
              postgresql_where=text("status = 'open' AND due_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    state: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(40), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visit: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(12), default="step")
    """``step`` for the step's own assignees, ``added`` for a signer added (加签) later."""
    pooled: Mapped[bool] = mapped_column(Boolean, default=False)
    """Offered to a role; a claim sets the assignee, a release clears it again."""
    waiting_for: Mapped[int | None] = mapped_column(Integer)
    """A waiting task opens when this task is done (sequential order, signers before/after)."""
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(60))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(60))
    on_behalf_of: Mapped[str | None] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(12))
    from_state: Mapped[str | None] = mapped_column(String(60))
    to_state: Mapped[str] = mapped_column(String(60))
    fired: Mapped[bool] = mapped_column(Boolean)
    target: Mapped[str | None] = mapped_column(String(60))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    changes: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Delegation(Base):
    """委托: the substitute may act on the principal's tasks that arrive in the window."""

    __tablename__ = "delegations"
    __table_args__ = (Index(None, "substitute_id", "starts_at"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    substitute_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Observer(Base):
    """抄送: people copied on an instance; they may read it and are notified, with no task."""

    __tablename__ = "observers"
    __table_args__ = (UniqueConstraint("instance_id", "user_id"), Index(None, "user_id"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("from_id", "kind", "to_id"), Index(None, "to_id"))
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    to_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    kind: Mapped[str] = mapped_column(String(40))


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "next_attempt_at",
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    created_at: Mapped[datetime]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str | None] = mapped_column(String(40))
    scope: Mapped[str | None] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    """One row per effect: a reminder's rung, a channel's copy of a message, a daily digest."""
    channel: Mapped[str | None] = mapped_column(String(12))
    """None for a message still to be fanned out; else email, webhook or inapp."""
    lease_owner: Mapped[str | None] = mapped_column(String(60))
    lease_until: Mapped[datetime | None]


TABLES = Base.metadata.tables


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as a Table (for statements on the hot path)."""
    return cast(Table, model.__table__)


class LoginThrottle(Base):
    """Failed logins per key (a username or an address), shared by every web process."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class Attachment(Base):
    """A file attached to an instance; the bytes live on disk under a random name."""

    __tablename__ = "attachments"
    __table_args__ = (Index(None, "instance_id"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]


class CalendarYear(Base):
    """A year whose official schedule (holidays and swapped working days) was entered."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(12))
    entered_at: Mapped[datetime]


class CalendarDay(Base):
    """An exception to the Monday–Friday rule: holiday, swapped working day, company day off."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(12))
    updated_at: Mapped[datetime]


class ScheduledEffect(Base):
    """Due work of the reminder ladder, claimed with a lease; the key makes each rung once."""

    __tablename__ = "scheduled_effects"
    __table_args__ = (
        Index(None, "task_id"),
        Index("ix_scheduled_effects_pending", "next_attempt_at",
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(60))
    lease_until: Mapped[datetime | None]
    params: Mapped[dict[str, Any]]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class InAppNotification(Base):
    """The bell: notifications kept for a user until read."""

    __tablename__ = "notifications"
    __table_args__ = (Index(None, "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(160), unique=True)
    key: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class UserContact(Base):
    """Where and how a user is notified: address, mobile (for robot mentions), language, zone."""

    __tablename__ = "user_contacts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Shanghai")


class RewardBudget(Base):
    """A yearly reward budget of a department (``*`` for the whole company), set by admins."""

    __tablename__ = "reward_budgets"
    __table_args__ = (UniqueConstraint("year", "department"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    set_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime]


class OrgAssessment(Base):
    """双百分: an organisation's yearly party-building and operations scores (each of 100)."""

    __tablename__ = "org_assessments"
    __table_args__ = (UniqueConstraint("year", "organisation"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    party_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    operations_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]
