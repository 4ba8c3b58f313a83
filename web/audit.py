"""The auditor's screen: read-only search over every instance, and the audit chain's status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from workflow import audit

from .auth import roles_required
from .screens import actor, engine

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("")
@roles_required("auditor", "sta_admin")
def index() -> Any:
    number = request.args.get("id", "").strip()
    if number.isdigit():
        return redirect(url_for("instances.show", instance_id=int(number)))
    after = request.args.get("after", "")
    workflow = request.args.get("workflow") or None
    state = request.args.get("state") or None
    page = engine().list_instances(actor=actor(), workflow=workflow, state=state,
                                   after=int(after) if after.isdigit() else None, limit=50)
    catalog = engine().catalog
    definitions = {name: catalog.newest(name).definition for name in catalog.names()}
    return render_template("audit.html", page=page, definitions=definitions,
                           workflow=workflow, state=state, chain=None)


@bp.get("/chain")
@roles_required("auditor", "sta_admin")
def verify() -> Any:
    with engine().db.read() as conn:
        checked, broken = audit.verify(conn)
    catalog = engine().catalog
    definitions = {name: catalog.newest(name).definition for name in catalog.names()}
    page = engine().list_instances(actor=actor(), limit=50)
    return render_template("audit.html", page=page, definitions=definitions, workflow=None,
                           state=None, chain={"checked": checked, "broken": broken})
