"""My items: what I started, where each stands, withdraw where the definition allows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from workflow.views import ActionView

from .auth import login_required
from .screens import actor, engine

bp = Blueprint("mine", __name__)

QUICK_ACTIONS = ("withdraw", "urge")
"""Actions My items offers as one button (they take no data)."""


@bp.get("/mine")
@login_required
def mine() -> Any:
    after = request.args.get("after", "")
    page = engine().list_instances(actor=actor(), mine=True,
                                   after=int(after) if after.isdigit() else None, limit=50)
    catalog = engine().catalog
    offered: dict[int, list[ActionView]] = {}
    for view in page.items:
        if not view.final:
            detail = engine().get(view.id, actor=actor())
            offered[view.id] = [a for a in detail.actions if a.name in QUICK_ACTIONS]
    definitions = {name: catalog.newest(name).definition for name in catalog.names()}
    return render_template("mine.html", page=page, offered=offered, definitions=definitions)
