"""Finance: payouts awaiting review and payment, confirmed one by one or as a batch; CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow.errors import WorkflowError

from .auth import roles_required
from .errors import message_of
from .screens import actor, engine

bp = Blueprint("finance", __name__, url_prefix="/finance")

REVIEW, AWAITING = "under_finance_review", "awaiting_payment"
EXPORT_STATES = (AWAITING, "paid")


def _payouts(state: str) -> list[Any]:
    return list(engine().list_instances(actor=actor(), workflow="payout", state=state,
                                        limit=200).items)


@bp.get("")
@roles_required("finance")
def index() -> Any:
    awaiting = [engine().get(v.id, actor=actor()) for v in _payouts(AWAITING)]
    review = [engine().get(v.id, actor=actor()) for v in _payouts(REVIEW)]
    return render_template("finance.html", awaiting=awaiting, review=review)


def _picked() -> list[tuple[int, int]]:
    out = []
    for raw in request.form.getlist("pick"):
        instance_id, _sep, version = raw.partition(":")
        if instance_id.isdigit() and version.isdigit():
            out.append((int(instance_id), int(version)))
    return out


@bp.post("/confirm")
@roles_required("finance")
def confirm() -> Any:
    done = failed = 0
    for instance_id, version in _picked():
        reference = request.form.get(f"reference-{instance_id}", "").strip()
        try:
            engine().act(instance_id, "confirm_payment", actor=actor(),
                         data={"payment_reference": reference}, expected_version=version)
            done += 1
        except WorkflowError as exc:
            failed += 1
            flash(_("Payout %(id)s: %(error)s", id=instance_id, error=message_of(exc)), "error")
    flash(_("%(done)d payouts confirmed, %(failed)d not confirmed.", done=done, failed=failed),
          "ok" if not failed else "error")
    return redirect(url_for("finance.index"))


@bp.post("/approve")
@roles_required("finance")
def approve() -> Any:
    done = failed = 0
    for instance_id, version in _picked():
        try:
            engine().act(instance_id, "approve", actor=actor(), expected_version=version)
            done += 1
        except WorkflowError as exc:
            failed += 1
            flash(_("Payout %(id)s: %(error)s", id=instance_id, error=message_of(exc)), "error")
    flash(_("%(done)d payouts approved, %(failed)d not approved.", done=done, failed=failed),
          "ok" if not failed else "error")
    return redirect(url_for("finance.index"))


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/export.csv")
@roles_required("finance")
def export() -> Any:
    state = request.args.get("state", AWAITING)
    if state not in EXPORT_STATES:
        state = AWAITING
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["payout_id", "title", "username", "share", "amount", "payment_reference"])
    for view in _payouts(state):
        for line in view.data.get("lines") or []:
            writer.writerow([_cell(v) for v in (
                view.id, view.title, line.get("username"), line.get("share"),
                line.get("amount"), view.data.get("payment_reference"))])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=payouts-{state}.csv"})
