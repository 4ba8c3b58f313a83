"""The bell: unread in-app notifications in the header, the list, marking all read; and
for S&T admins the deliveries that failed for good, with a button to send one again."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import notify
from workflow.calendar import DEFAULT_ZONE, zone_of
from workflow.errors import WorkflowError
from workflow.models import UserContact, table_of
from workflow.notify import bell
from workflow.store import USERS

from .auth import current_actor, login_required, roles_required
from .i18n import language
from .screens import actor, engine

bp = Blueprint("notifications", __name__)

CONTACTS = table_of(UserContact)
SHOWN = 50


def unread() -> int:
    """Unread notifications of the user of this request (0 when nobody is logged in)."""
    if "unread_notifications" not in g:
        who = current_actor()
        if who is None or who.is_system:
            g.unread_notifications = 0
        else:
            with engine().db.read() as conn:
                g.unread_notifications = bell.unread_count(conn, who.id)
    return int(g.unread_notifications)


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    return {"unread_notifications": unread}


def _label(workflow: str, state: str, lang: str) -> str:
    definition = engine().catalog.newest(workflow).definition
    texts = definition.states[state].label
    return texts.get("zh" if lang.startswith("zh") else "en") or state


@bp.get("/notifications")
@login_required
def index() -> Any:
    me = actor()
    with engine().db.read() as conn:
        items = bell.latest(conn, me.id, limit=SHOWN)
        zone_name = conn.execute(select(CONTACTS.c.timezone).where(
            CONTACTS.c.user_id == me.id)).scalar()
    zone = zone_of(zone_name) if zone_name else DEFAULT_ZONE
    lang = "zh-CN" if language() == "zh" else "en"
    shown = [(item, notify.render(item.key, {**item.params,
                                             **({"instance_id": item.instance_id}
                                                if item.instance_id else {})},
                                  language=lang, zone=zone, labels=_safe_label))
             for item in items]
    return render_template("notifications.html", items=shown)


def _safe_label(workflow: str, state: str, lang: str) -> str:
    try:
        return _label(workflow, state, lang)
    except (LookupError, WorkflowError):
        return state


@bp.post("/notifications/read")
@login_required
def mark_all_read() -> Any:
    with engine().db.write() as conn:
        changed = bell.mark_read(conn, actor().id, None, now=engine().clock.now())
    flash(_("%(n)d notifications marked read.", n=changed), "ok")
    return redirect(url_for("notifications.index"))


@bp.get("/admin/notifications")
@roles_required("sta_admin")
def failures() -> Any:
    with engine().db.read() as conn:
        failed = notify.failures(conn, limit=200)
        ids = {f.recipient_id for f in failed if f.recipient_id is not None}
        names = dict(conn.execute(select(USERS.c.id, USERS.c.username)
                                  .where(USERS.c.id.in_(ids)))) if ids else {}
    return render_template("notification_failures.html", failed=failed, names=names)


@bp.post("/admin/notifications/<int:copy_id>/requeue")
@roles_required("sta_admin")
def requeue(copy_id: int) -> Any:
    with engine().db.write() as conn:
        done = notify.requeue(conn, copy_id, now=engine().clock.now())
    if done:
        flash(_("Delivery %(id)d queued again.", id=copy_id), "ok")
    else:
        flash(_("Delivery %(id)d is not a failed delivery.", id=copy_id), "error")
    return redirect(url_for("notifications.failures"))
