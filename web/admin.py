"""Admin: users, roles and scopes, departments and fields, definitions and their checks."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflow import org
from workflow.definition import load_folder
from workflow.errors import ValidationFailed

from .auth import roles_required
from .errors import message_of
from .screens import choices_of, engine, role_names

bp = Blueprint("admin", __name__, url_prefix="/admin")

USER_LABELS = {"username": _l("Username"), "name": _l("Name"), "department": _l("Department"),
               "role": _l("Roles and scopes"), "password": _l("Password")}
"""The user form's labels, naming the fields a refused user or role grant is refused for."""


def _page(message: str | None = None, status: int = 200) -> Any:
    with engine().db.read() as conn:
        users = org.list_users(conn)
        departments = org.departments(conn)
        fields = org.fields(conn)
    _definitions, problems = load_folder(engine().catalog.folder)
    catalog = engine().catalog
    versions = catalog.versions()
    titles = {v["id"]: catalog.by_id(cast(int, v["id"])).definition.title for v in versions}
    named = choices_of(departments, fields)
    role_words = {u.username: role_names([org.parse_role(r) for r in u.roles], named)
                  for u in users}
    return render_template("admin.html", users=users, departments=departments, fields=fields,
                           versions=versions, titles=titles, role_words=role_words,
                           problems=problems,
                           calendar_gaps=engine().calendar.unknown_years(
                               range(engine().clock.now().year,
                                     engine().clock.now().year + 2)),
                           message=message), status


@bp.get("")
@roles_required("sta_admin")
def index() -> Any:
    return _page()


def _roles() -> list[str]:
    return [r.strip() for r in request.form.get("roles", "").replace(",", " ").split()
            if r.strip()]


@bp.post("/users")
@roles_required("sta_admin")
def add_user() -> Any:
    try:
        with engine().db.write() as conn:
            org.add_user(conn, username=request.form.get("username", "").strip(),
                         name=request.form.get("name", "").strip() or None,
                         department=request.form.get("department") or None, roles=_roles(),
                         password=request.form.get("password") or None,
                         now=engine().clock.now())
    except ValidationFailed as exc:
        return _page(message_of(exc, USER_LABELS), 422)
    flash(_("User added."), "ok")
    return redirect(url_for("admin.index"))


@bp.post("/users/<username>/roles")
@roles_required("sta_admin")
def set_roles(username: str) -> Any:
    try:
        with engine().db.write() as conn:
            org.set_roles(conn, username=username, roles=_roles())
    except ValidationFailed as exc:
        return _page(message_of(exc, USER_LABELS), 422)
    flash(_("Roles saved."), "ok")
    return redirect(url_for("admin.index"))


@bp.post("/departments")
@roles_required("sta_admin")
def add_department() -> Any:
    return _add(org.add_department, org.DEPARTMENTS)


@bp.post("/fields")
@roles_required("sta_admin")
def add_field() -> Any:
    return _add(org.add_field, org.FIELDS)


def _add(adder: Any, table: Any) -> Any:
    code = request.form.get("code", "").strip()
    zh = request.form.get("name_zh", "").strip()
    en = request.form.get("name_en", "").strip()
    if not code.replace("_", "").isalnum() or len(code) > 40 or not zh or not en:
        return _page(_("Code (letters, digits, _), Chinese and English names are required."),
                     422)
    from sqlalchemy import select

    with engine().db.write() as conn:
        if conn.execute(select(table.c.code).where(table.c.code == code)).first():
            return _page(_("That code exists already."), 422)
        adder(conn, code=code, name_zh=zh[:100], name_en=en[:100])
    flash(_("Saved."), "ok")
    return redirect(url_for("admin.index"))
