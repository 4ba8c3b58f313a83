"""Delegations (委托) on the profile page: who acts for me while I am away, and for whom I act."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflow import delegation
from workflow.errors import ValidationFailed

from .auth import login_required
from .errors import message_of
from .screens import actor, engine

bp = Blueprint("delegations", __name__, url_prefix="/auth/profile/delegations")

LABELS = {"substitute": _l("Substitute (username)"), "starts_on": _l("Starts"),
          "starts_at": _l("Starts"), "ends_on": _l("Ends"), "ends_at": _l("Ends")}
"""The delegation form's labels, for the fields a refused delegation names."""


def mine() -> list[delegation.DelegationView]:
    with engine().db.read() as conn:
        return delegation.of(conn, actor())


def _day(name: str, end: bool) -> datetime:
    try:
        day = date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        raise ValidationFailed("invalid_date", fields={name: "a date (YYYY-MM-DD)"}) from None
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day, time(23, 59, 59) if end else time(0, 0), tzinfo=zone)


@bp.post("")
@login_required
def create() -> Any:
    try:
        starts, ends = _day("starts_on", False), _day("ends_on", True)
        with engine().db.write() as conn:
            delegation.create(conn, principal=actor(),
                              substitute=request.form.get("substitute", "").strip(),
                              starts_at=starts, ends_at=ends, now=engine().clock.now())
    except ValidationFailed as exc:
        return render_template("profile.html", token=None, delegations=mine(),
                               message=message_of(exc, LABELS)), 422
    flash(_("Delegation saved."), "ok")
    return redirect(url_for("auth.profile"))


@bp.post("/<int:delegation_id>/revoke")
@login_required
def revoke(delegation_id: int) -> Any:
    with engine().db.write() as conn:
        delegation.revoke(conn, delegation_id, principal=actor(), now=engine().clock.now())
    flash(_("Delegation ended."), "ok")
    return redirect(url_for("auth.profile"))
