"""The organisation: departments, fields, users with scoped roles, API tokens, passwords.

Service functions take a connection (the caller owns the transaction) and keyword-only
arguments; they return frozen values.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from . import rawsql
from .actors import ROLES, SCOPED_ROLES, Actor
from .errors import NotFound, ValidationFailed
from .models import ApiToken, Department, Field, RoleAssignment, User, table_of

USERS = table_of(User)
ROLE_TABLE = table_of(RoleAssignment)
TOKENS = table_of(ApiToken)
DEPARTMENTS = table_of(Department)
FIELDS = table_of(Field)

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    name: str
    department: str | None
    roles: tuple[str, ...]
    active: bool


def parse_role(text: str) -> tuple[str, str]:
    """``dept_head@smelting`` → (dept_head, smelting); checks the role and its scope."""
    role, _, scope = text.partition("@")
    if role not in ROLES:
        raise ValidationFailed("unknown_role", fields={"role": f"unknown role {role!r}"})
    if role in SCOPED_ROLES and not scope:
        raise ValidationFailed("scope_required", fields={
            "role": f"{role} needs a {SCOPED_ROLES[role]}: {role}@<{SCOPED_ROLES[role]}>"})
    if role not in SCOPED_ROLES and scope:
        raise ValidationFailed("scope_not_allowed", fields={"role": f"{role} takes no scope"})
    return role, scope


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing tells nothing."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def add_department(conn: Connection, *, code: str, name_zh: str, name_en: str) -> None:
    conn.execute(insert(DEPARTMENTS).values(code=code, name_zh=name_zh, name_en=name_en))


def add_field(conn: Connection, *, code: str, name_zh: str, name_en: str) -> None:
    conn.execute(insert(FIELDS).values(code=code, name_zh=name_zh, name_en=name_en))


def departments(conn: Connection) -> list[dict[str, str]]:
    return [dict(r) for r in conn.execute(select(DEPARTMENTS).order_by(DEPARTMENTS.c.code))
            .mappings()]


def fields(conn: Connection) -> list[dict[str, str]]:
    return [dict(r) for r in conn.execute(select(FIELDS).order_by(FIELDS.c.code)).mappings()]


def add_user(conn: Connection, *, username: str, now: datetime, name: str | None = None,
             department: str | None = None, roles: Iterable[str] = (),
             password: str | None = None) -> UserInfo:
    problems: dict[str, str] = {}
    if not username or len(username) > 60 or not username.replace("_", "").replace(
            ".", "").replace("-", "").isalnum():
        problems["username"] = "letters, digits, '.', '_' and '-', at most 60"
    elif conn.execute(select(USERS.c.id).where(USERS.c.username == username)).first():
        problems["username"] = "already taken"
    if department and not conn.execute(
            select(DEPARTMENTS.c.code).where(DEPARTMENTS.c.code == department)).first():
        problems["department"] = f"unknown department {department!r}"
    parsed = []
    for text in roles:
        try:
            parsed.append(parse_role(text))
        except ValidationFailed as exc:
            problems.update(exc.fields)
    for role, scope in parsed:
        if problems:
            break
        check_scope(conn, role, scope, problems)
    if problems:
        raise ValidationFailed("invalid_user", fields=problems)
    user_id = conn.execute(insert(USERS).values(
        username=username, name=name or username, department=department,
        password_hash=hash_password(password) if password else None, active=True,
        session_epoch=0, created_at=now).returning(USERS.c.id)).scalar_one()
    for role, scope in dict.fromkeys(parsed):
        conn.execute(insert(ROLE_TABLE).values(user_id=user_id, role=role, scope=scope))
    return get_user(conn, username)


def check_scope(conn: Connection, role: str, scope: str, problems: dict[str, str]) -> None:
    kind = SCOPED_ROLES.get(role)
    table = DEPARTMENTS if kind == "department" else FIELDS if kind == "field" else None
    if table is not None and not conn.execute(
            select(table.c.code).where(table.c.code == scope)).first():
        problems["role"] = f"unknown {kind} {scope!r}"


def set_roles(conn: Connection, *, username: str, roles: Iterable[str]) -> UserInfo:
    user = get_user(conn, username)
    parsed = [parse_role(r) for r in roles]
    problems: dict[str, str] = {}
    for role, scope in parsed:
        check_scope(conn, role, scope, problems)
    if problems:
        raise ValidationFailed("invalid_roles", fields=problems)
    conn.execute(delete(ROLE_TABLE).where(ROLE_TABLE.c.user_id == user.id))
    for role, scope in dict.fromkeys(parsed):
        conn.execute(insert(ROLE_TABLE).values(user_id=user.id, role=role, scope=scope))
    return get_user(conn, username)


def set_password(conn: Connection, *, username: str, password: str) -> None:
    if len(password) < 8 and password != "demo":
        raise ValidationFailed("weak_password", fields={"password": "at least 8 characters"})
    conn.execute(update(USERS).where(USERS.c.username == username).values(
        password_hash=hash_password(password), session_epoch=USERS.c.session_epoch + 1))


def get_user(conn: Connection, username: str) -> UserInfo:
    row = conn.execute(select(USERS).where(USERS.c.username == username)).first()
    if row is None:
        raise NotFound("user_not_found", username=username)
    return _info(conn, row)


def _info(conn: Connection, row: Any) -> UserInfo:
    roles = conn.execute(select(ROLE_TABLE.c.role, ROLE_TABLE.c.scope)
                         .where(ROLE_TABLE.c.user_id == row.id)
                         .order_by(ROLE_TABLE.c.role, ROLE_TABLE.c.scope)).all()
    return UserInfo(row.id, row.username, row.name, row.department,
                    tuple(f"{r}@{s}" if s else r for r, s in roles), row.active)


def list_users(conn: Connection) -> list[UserInfo]:
    return [_info(conn, r) for r in conn.execute(select(USERS).order_by(USERS.c.username))]


def actor_by_id(conn: Connection, user_id: int) -> Actor | None:
    row = conn.execute(select(USERS).where(USERS.c.id == user_id,
                                           USERS.c.active.is_(True))).first()
    return _actor(conn, row) if row else None


def actor_by_username(conn: Connection, username: str) -> Actor:
    row = conn.execute(select(USERS).where(USERS.c.username == username,
                                           USERS.c.active.is_(True))).first()
    if row is None:
        raise NotFound("user_not_found", username=username)
    return _actor(conn, row)


def _actor(conn: Connection, row: Any) -> Actor:
    roles = conn.execute(select(ROLE_TABLE.c.role, ROLE_TABLE.c.scope)
                         .where(ROLE_TABLE.c.user_id == row.id)).all()
    return Actor(id=row.id, username=row.username,
                 roles=frozenset((r.role, r.scope) for r in roles), department=row.department)


def issue_token(conn: Connection, *, username: str, now: datetime) -> str:
    user = get_user(conn, username)
    token = secrets.token_urlsafe(32)
    conn.execute(insert(TOKENS).values(user_id=user.id, token_hash=_token_hash(token),
                                       created_at=now, revoked=False))
    return token


@dataclass(frozen=True)
class TokenInfo:
    """What its owner may know of a token: the token itself is never stored, only its hash."""

    id: int
    created_at: datetime
    revoked: bool


def tokens_of(conn: Connection, *, user_id: int) -> list[TokenInfo]:
    rows = conn.execute(select(TOKENS.c.id, TOKENS.c.created_at, TOKENS.c.revoked)
                        .where(TOKENS.c.user_id == user_id).order_by(TOKENS.c.id.desc()))
    return [TokenInfo(r.id, r.created_at, bool(r.revoked)) for r in rows]


def revoke_token(conn: Connection, *, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when the user has no such token. The next
    request with it is refused, in every process (tokens are checked on every request)."""
    done = conn.execute(update(TOKENS).where(TOKENS.c.id == token_id,
                                             TOKENS.c.user_id == user_id)
                        .values(revoked=True))
    return bool(done.rowcount)


_ACTOR_BY_TOKEN = (
    "SELECT u.id, u.username, u.department, r.role, r.scope "
    "FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "LEFT JOIN role_assignments r ON r.user_id = u.id "
    "WHERE t.token_hash = :token_hash AND NOT t.revoked AND u.active")


def actor_by_token(conn: Connection, token: str) -> Actor | None:
    """The active user behind a token that is not revoked, with their roles, in one statement
    on the cursor: every API request runs it, so it is read afresh each time, never cached."""
    rows = rawsql.run(conn, _ACTOR_BY_TOKEN, {"token_hash": _token_hash(token)}).fetchall()
    if not rows:
        return None
    user_id, username, department = rows[0][:3]
    return Actor(id=user_id, username=username, department=department,
                 roles=frozenset((r[3], r[4]) for r in rows if r[3] is not None))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_org_formats(conn: Connection, schema: Mapping[str, Any], data: Mapping[str, Any]
                      ) -> None:
    """Values whose schema format is department, field or username must exist."""
    wanted: dict[str, dict[str, str]] = {"department": {}, "field": {}, "username": {}}
    _collect(schema, data, "", wanted)
    problems: dict[str, str] = {}
    for kind, table, column in (("department", "departments", "code"),
                                ("field", "fields", "code"), ("username", "users", "username")):
        values = wanted[kind]
        if not values:
            continue
        marks, params = rawsql.in_list("v", sorted(set(values.values())))
        known = {r[0] for r in rawsql.run(
            conn, f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", params)}
        for path, value in values.items():
            if value not in known:
                problems[path] = f"unknown {kind} {value!r}"
    if problems:
        raise ValidationFailed("unknown_reference", fields=problems)


def _collect(schema: Mapping[str, Any], value: Any, path: str,
             wanted: dict[str, dict[str, str]]) -> None:
    fmt = schema.get("format")
    if fmt in wanted and isinstance(value, str):
        wanted[fmt][path or "(data)"] = value
    if isinstance(value, Mapping):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                _collect(sub, value[key], f"{path}.{key}" if path else key, wanted)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for n, item in enumerate(value):
            _collect(schema["items"], item, f"{path}.{n}", wanted)
