"""Submit forms generated from each definition's start schema; drafts and attachments."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow.errors import ValidationFailed, WorkflowError

from . import forms
from .auth import login_required
from .error_texts import reasons_by_path
from .errors import message_of, status_of
from .instances import store_upload
from .screens import actor, choices, engine

bp = Blueprint("submit", __name__)


def startable() -> list[Any]:
    catalog = engine().catalog
    return [catalog.newest(n).definition for n in catalog.names()
            if catalog.newest(n).definition.start_by == "anyone"]


@bp.get("/new")
@login_required
def choose() -> Any:
    return render_template("new.html", definitions=startable())


def _form(workflow: str, values: dict[str, Any] | None = None,
          error: WorkflowError | None = None, status: int = 200) -> Any:
    definition = engine().catalog.newest(workflow).definition
    if definition.start_by != "anyone":
        abort(404)
    errors = reasons_by_path(error.fields) if error is not None else None
    offered = choices(workflow)
    offered.items = items_to_name(definition, actor())
    widgets = forms.widgets(definition.start_schema, values, errors, offered)
    message = message_of(error, forms.labels_of(widgets)) if error is not None else None
    return render_template("submit.html", definition=definition, widgets=widgets,
                           choices=offered, message=message), status


def items_to_name(definition: Any, me: Any) -> dict[str, list[tuple[str, str]]]:
    """For each field that names the item a new one belongs to (``link_parent``: the project
    an acceptance reports on), the items that qualify, newest first: the person's own when only
    the owner may, else those they may see. Nobody has to remember an item's number."""
    found: dict[str, list[tuple[str, str]]] = {}
    for call in definition.on_start:
        if call.name != "link_parent":
            continue
        params = call.params
        kinds = [params["workflow"]] if isinstance(params["workflow"], str) \
            else list(params["workflow"])
        options = []
        for workflow in kinds:
            for state in params["states"]:
                page = engine().list_instances(actor=me, workflow=workflow, state=state,
                                               mine=bool(params.get("owner_only")), limit=100)
                options += [(v.id, f"#{v.id} {v.title}") for v in page.items]
        found[params["field"]] = [(str(i), text) for i, text in sorted(options, reverse=True)]
    return found


@bp.get("/new/<workflow>")
@login_required
def form(workflow: str) -> Any:
    return _form(workflow)


@bp.post("/new/<workflow>")
@login_required
def create(workflow: str) -> Any:
    me = actor()
    definition = engine().catalog.newest(workflow).definition
    if definition.start_by != "anyone":
        abort(404)
    if me.read_only:
        abort(403)
    data = forms.parse(definition.start_schema, request.form)
    upload = request.files.get("file")
    try:
        view = engine().start(workflow, actor=me, data=data)
    except ValidationFailed as exc:
        return _form(workflow, data, exc, 422)
    except WorkflowError as exc:
        return _form(workflow, data, exc, status_of(exc.code))
    if upload is not None and upload.filename:
        try:
            store_upload(view.id, upload)
        except ValidationFailed as exc:
            flash(_("The file was not attached: %(error)s",
                    error=message_of(exc, {"file": _("File")})), "error")
    if request.form.get("intent") == "submit":
        submit = next((a for a in view.actions if a.outcome == "submit"), None)
        if submit is not None:
            try:
                engine().act(view.id, submit.name, actor=me, expected_version=view.version)
            except WorkflowError as exc:
                flash(message_of(exc), "error")
                return redirect(url_for("instances.show", instance_id=view.id))
        flash(_("Submitted."), "ok")
    else:
        flash(_("Saved as a draft. Submit it from its page when it is ready."), "ok")
    return redirect(url_for("instances.show", instance_id=view.id))
