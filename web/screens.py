"""Helpers the screens share: the engine, the actor, choices for forms, working days."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app

from workflow import Actor, Engine, logins, org
from workflow.views import InstanceView

from .auth import require_actor
from .forms import Choices
from .i18n import language


def engine() -> Engine:
    return current_app.extensions["innoflow"]  # type: ignore[no-any-return]


def actor() -> Actor:
    return require_actor()


def choices(workflow: str | None = None) -> Choices:
    with engine().db.read() as conn:
        departments = org.departments(conn)
        fields = org.fields(conn)
        users = logins.display_names(conn)
    states = engine().catalog.newest(workflow).definition.states if workflow else {}
    return choices_of(departments, fields, users, states)


def choices_of(departments: Iterable[Mapping[str, Any]], fields: Iterable[Mapping[str, Any]],
               users: list[tuple[str, str]] | None = None,
               states: Mapping[str, Any] | None = None) -> Choices:
    """Choices from departments and fields already read, named in the page's language."""
    key = "name_zh" if language() == "zh" else "name_en"
    return Choices([(d["code"], d[key]) for d in departments],
                   [(f["code"], f[key]) for f in fields], users or [], states or {})


def role_names(roles: Iterable[tuple[str, str]], named: Choices | None = None) -> list[str]:
    """Roles as (role, scope) in words, each with the department or field it is held in;
    ``named``, when the caller shows many people's roles, saves reading the names again."""
    from workflow.actors import SCOPED_ROLES

    from .forms import role_label

    named = named or choices()
    return sorted(role_label(role, named.name(SCOPED_ROLES.get(role, ""), scope) if scope else "")
                  for role, scope in roles)


def working_days_left(due: datetime | None) -> int | None:
    if due is None:
        return None
    cal = engine().calendar
    zone = cal.zone
    today = engine().clock.now().astimezone(zone).date()
    return cal.working_days_between(today, due.astimezone(zone).date())


def definition_of(view: InstanceView) -> Any:
    """The definition version the instance runs on."""
    catalog = engine().catalog
    newest = catalog.newest(view.workflow)
    if newest.version == view.definition_version:
        return newest.definition
    for row in catalog.versions():
        if row["name"] == view.workflow and row["version"] == view.definition_version:
            return catalog.by_id(int(row["id"])).definition  # type: ignore[call-overload]
    return newest.definition
