"""Finance: payouts awaiting review and payment, confirmed one by one or as a batch; CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import payouts, store
from workflow.errors import WorkflowError

from .auth import roles_required
from .errors import message_of
from .screens import actor, engine

bp = Blueprint("finance", __name__, url_prefix="/finance")

REVIEW, AWAITING = "under_finance_review", "awaiting_payment"
WITH_MANAGER = "under_general_manager_approval"
EXPORT_STATES = (AWAITING, "paid")


def _payouts(state: str) -> list[Any]:
    return list(engine().list_instances(actor=actor(), workflow="payout", state=state,
                                        limit=200).items)


def _ids_in(state: str) -> list[int]:
    """Payouts in ``state`` finance holds no task on yet (the engine checks who may see)."""
    instances = store.INSTANCES
    with engine().db.read() as conn:
        return list(conn.execute(select(instances.c.id).where(
            instances.c.workflow == "payout", instances.c.state == state)
            .order_by(instances.c.id).limit(200)).scalars())


@bp.get("")
@roles_required("finance")
def index() -> Any:
    awaiting = [engine().get(v.id, actor=actor()) for v in _payouts(AWAITING)]
    review = [engine().get(v.id, actor=actor()) for v in _payouts(REVIEW)]
    with_manager = [engine().get(i, actor=actor()) for i in _ids_in(WITH_MANAGER)]
    return render_template("finance.html", awaiting=awaiting, review=review,
                           with_manager=with_manager)


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
    batch = request.form.get("batch_reference", "").strip()
    if batch:
        return _confirm_batch(batch)
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


def _confirm_batch(batch: str) -> Any:
    """One payment reference for the batch: each payout confirmed in its own transaction."""
    try:
        result = payouts.confirm_batch(engine(), _picked(), actor=actor(),
                                       batch_reference=batch)
    except WorkflowError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("finance.index"))
    for line in result.lines:
        if not line.ok:
            flash(_("Payout %(id)s: %(error)s", id=line.payout_id, error=line.error), "error")
    failed = len(result.lines) - result.confirmed
    flash(_("%(done)d payouts confirmed, %(failed)d not confirmed.", done=result.confirmed,
            failed=failed), "ok" if not failed else "error")
    return redirect(url_for("finance.index"))


@bp.post("/approve")
@roles_required("finance")
def approve() -> Any:
    results = engine().act_many(_picked(), "approve", actor=actor())
    for result in results:
        if result.error is not None:
            flash(_("Payout %(id)s: %(error)s", id=result.instance_id,
                    error=message_of(result.error)), "error")
    done = sum(1 for result in results if result.ok)
    failed = len(results) - done
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
