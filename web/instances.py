"""The instance page: data, attachments, timeline, diagram, links, and my actions as forms."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from workflow import attachments
from workflow.errors import NotFound, ValidationFailed, VersionConflict, WorkflowError
from workflow.registry import EFFECTS
from workflow.views import InstanceView

from . import forms
from .auth import login_required
from .diagram import layout
from .error_texts import reasons_by_path
from .errors import message_of, status_of
from .screens import actor, choices, definition_of, engine

bp = Blueprint("instances", __name__)


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def render_instance(view: InstanceView, *, failed: str | None = None,
                    error: WorkflowError | None = None, values: dict[str, Any] | None = None,
                    message: str | None = None, status: int = 200) -> Any:
    """The page; ``error`` refused the ``failed`` action, whose form shows it field by field."""
    me = actor()
    errors = reasons_by_path(error.fields) if error is not None else None
    definition = definition_of(view)
    history = engine().history(view.id, actor=me)
    with engine().db.read() as conn:
        files = attachments.of_instance(conn, view.id)
    form_choices = choices(view.workflow)
    action_forms = []
    for action in view.actions:
        own = action.name == failed
        widgets = forms.widgets(action.schema, values if own else None,
                                errors if own else None, form_choices)
        action_forms.append({
            "action": action,
            "widgets": widgets,
            "comment_error": (errors or {}).get("comment") if own else None,
        })
        if own and error is not None:
            message = message_of(error, {"comment": _("Comment"), **forms.labels_of(widgets)})
    if error is not None and message is None:
        message = message_of(error)
    linked = []
    for kind, ids in view.links.items():
        for other in ids:
            try:
                linked.append((kind, engine().get(other, actor=me)))
            except NotFound:
                linked.append((kind, None))
    can_attach = not view.final and (view.created_by == me.username or bool(view.actions))
    return render_template(
        "instance.html", view=view, definition=definition, history=history, files=files,
        action_forms=action_forms, linked=linked, diagram=layout(definition, view.state),
        schema=display_schema(definition), choices=form_choices, can_attach=can_attach,
        org_name=form_choices.name,
        failed_message=message), status


def display_schema(definition: Any) -> dict[str, Any]:
    """The start schema with every action's fields and what its effects write added, so each
    value is shown by its type."""
    properties: dict[str, Any] = {}
    for call in (*definition.on_start, *(c for t in definition.transitions for c in t.effects)):
        entry = EFFECTS.get(call.name)
        properties.update(entry.sets if entry else {})
    for transition in definition.transitions:
        properties.update((transition.schema or {}).get("properties") or {})
    for state in definition.states.values():
        if state.step is not None and state.step.form:
            properties.update(state.step.form.get("properties") or {})
    properties.update(definition.start_schema.get("properties") or {})
    return {**definition.start_schema, "properties": properties}


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int) -> Any:
    return render_instance(engine().get(instance_id, actor=actor()))


@bp.post("/instances/<int:instance_id>/act/<action>")
@login_required
def act(instance_id: int, action: str) -> Any:
    me = actor()
    view = engine().get(instance_id, actor=me)
    offered = next((a for a in view.actions if a.name == action), None)
    if offered is None:
        return render_instance(view, message=_("That action is not available to you now."),
                               status=409)
    data = forms.parse(offered.schema, request.form)
    version = request.form.get("expected_version", "")
    comment = request.form.get("comment", "").strip() or None
    try:
        engine().act(instance_id, action, actor=me, comment=comment, data=data,
                     expected_version=int(version) if version.isdigit() else None)
    except ValidationFailed as exc:
        return render_instance(view, failed=action, error=exc, values=data, status=422)
    except VersionConflict:
        fresh = engine().get(instance_id, actor=me)
        return render_instance(fresh, message=_("Someone acted on this item in the meantime. "
                                                "Please check it and try again."), status=409)
    except WorkflowError as exc:
        return render_instance(view, message=message_of(exc), status=status_of(exc.code))
    flash(_("Done: %(action)s.", action=_action_label(offered.label, action)), "ok")
    target = request.form.get("next", "")
    if target in ("inbox", "mine"):
        return redirect(url_for(f"{target}.{target}"))
    return redirect(url_for("instances.show", instance_id=instance_id))


def _action_label(label: Any, fallback: str) -> str:
    from .i18n import label as pick

    return pick(label, fallback)


def store_upload(instance_id: int, upload: Any) -> None:
    """Check and store one uploaded file for an instance (ValidationFailed if refused)."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    content = upload.stream.read(limit + 1)
    if not content:
        raise ValidationFailed("empty_file", fields={"file": "empty"})
    if len(content) > limit:
        raise ValidationFailed("file_too_large", fields={"file": f"at most {limit} bytes"})
    kind = attachments.sniff(content[:4096])
    if kind is None:
        raise ValidationFailed("file_type_refused",
                               fields={"file": "PDF, PNG, JPEG, Office (zip) or text only"})
    stored = secrets.token_hex(16)
    (upload_folder() / stored).write_bytes(content)
    name = Path(upload.filename or "file").name[:200] or "file"
    with engine().db.write() as conn:
        attachments.add(conn, instance_id=instance_id, filename=name, stored_name=stored,
                        content_type=kind, size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(), uploaded_by=actor().id,
                        now=engine().clock.now())


@bp.post("/instances/<int:instance_id>/attachments")
@login_required
def attach(instance_id: int) -> Any:
    me = actor()
    view = engine().get(instance_id, actor=me)
    if view.final or not (view.created_by == me.username or view.actions):
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_instance(view, message=_("Choose a file first."), status=422)
    try:
        store_upload(instance_id, upload)
    except ValidationFailed as exc:
        return render_instance(view, message=message_of(exc, {"file": _("File")}), status=422)
    flash(_("File attached."), "ok")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Any:
    with engine().db.read() as conn:
        info = attachments.get(conn, attachment_id)
    if info is None:
        abort(404)
    engine().get(info.instance_id, actor=actor())  # not_found unless visible
    path = upload_folder() / info.stored_name
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=info.content_type, as_attachment=True,
                     download_name=info.filename, max_age=0)
