"""The inbox: tasks I can act on now, overdue first, with batch approval where allowed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow.definition import Definition
from workflow.errors import WorkflowError

from .auth import login_required
from .errors import message_of
from .screens import actor, definition_of, engine, working_days_left

bp = Blueprint("inbox", __name__)

PAGE = 50
"""Tasks on the page (most urgent first); the badge counts the same, shown as 50+ beyond."""


def batch_action(definition: Definition, state: str) -> str | None:
    """The approve action of a step that needs neither data nor a comment, if there is one."""
    for name in definition.actions_from(state):
        spec = definition.transitions_for(state, name)[0]
        if spec.outcome == "approve" and spec.by not in ("owner", "system") \
                and not spec.requires_comment and not spec.schema.get("required") \
                and not spec.schema.get("properties") and not _step_form(definition, state):
            return name
    return None


def _step_form(definition: Definition, state: str) -> bool:
    step = definition.states[state].step if state in definition.states else None
    return bool(step is not None and step.form and step.form.get("properties"))


@bp.get("/inbox")
@login_required
def inbox() -> Any:
    me = actor()
    workflow = request.args.get("workflow") or None
    state = request.args.get("state") or None
    tasks = engine().inbox(actor=me, limit=PAGE, workflow=workflow, state=state)
    if workflow is None and state is None:
        g.inbox_count = len(tasks)  # the header's badge needs no second query
    tasks = sorted(tasks, key=lambda t: (not t.overdue, t.due_at is None,
                                         t.due_at or t.created_at))
    catalog = engine().catalog
    definitions = {name: catalog.newest(name).definition for name in catalog.names()}
    rows = [{"task": t, "days": working_days_left(t.due_at),
             "batch": batch_action(definitions[t.workflow], t.state)
             if t.workflow in definitions and t.state in definitions[t.workflow].states
             else None} for t in tasks]
    steps = sorted({(t.workflow, t.state) for t in tasks if t.workflow in definitions})
    return render_template("inbox.html", rows=rows, definitions=definitions, steps=steps,
                           workflow=workflow, state=state)


@bp.post("/inbox/batch")
@login_required
def batch() -> Any:
    me = actor()
    done = failed = 0
    for raw in request.form.getlist("pick"):
        instance_id, _sep, shown_state = raw.partition(":")
        if not instance_id.isdigit():
            continue
        try:
            view = engine().get(int(instance_id), actor=me)
            action = batch_action(definition_of(view), view.state)
            if view.state != shown_state or action is None:
                failed += 1
                flash(_("Item %(id)s has moved on since the list was shown.", id=instance_id),
                      "error")
                continue
            engine().act(view.id, action, actor=me, data={}, expected_version=view.version)
            done += 1
        except WorkflowError as exc:
            failed += 1
            flash(_("Item %(id)s: %(error)s", id=instance_id, error=message_of(exc)), "error")
    flash(_("%(done)d approved, %(failed)d not approved.", done=done, failed=failed),
          "ok" if not failed else "error")
    return redirect(url_for("inbox.inbox"))
