"""The JSON API, /api/v1, exactly as API.md describes it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from workflow import Engine
from workflow.errors import BadRequest, Forbidden, WorkflowError

from . import reports
from .auth import current_actor, has_role
from .errors import json_error
from .openapi import spec
from .security import csrf
from .serialize import event_json, instance_json, task_json, workflow_json

bp = Blueprint("api", __name__)
csrf.exempt(bp)

REPORT_ROLES = ("auditor", "sta_admin", "committee_office", "committee_member",
                "general_manager", "finance")
MAX_LIMIT = 100


def _engine() -> Engine:
    return current_app.extensions["innoflow"]  # type: ignore[no-any-return]


@bp.before_request
def authenticate() -> Response | None:
    if request.endpoint == "api.openapi":
        return None
    actor = current_actor()
    if actor is None:
        if g.get("bad_token"):
            return json_error(401, "unauthenticated", "unknown or revoked token")
        return json_error(401, "unauthenticated", "log in or send a bearer token")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("via_token"):
        csrf.protect()
    return None


def _body(allowed: set[str], required: set[str]) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("body_not_object", fields={"body": "must be a JSON object"})
    unknown = set(body) - allowed
    missing = required - set(body)
    fields = {k: "unknown field" for k in unknown} | {k: "required" for k in missing}
    if fields:
        raise BadRequest("invalid_body", fields=fields)
    return body


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest("invalid_parameter", fields={name: f"an integer from {low} to {high}"})
    return int(raw)


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(spec())


@bp.get("/workflows")
def workflows() -> Any:
    engine = _engine()
    out = []
    for name in engine.catalog.names():
        entry = engine.catalog.newest(name)
        out.append(workflow_json(entry.definition, entry.version))
    return jsonify(out)


@bp.get("/workflows/<name>")
def workflow(name: str) -> Any:
    entry = _engine().catalog.newest(name)
    return jsonify(workflow_json(entry.definition, entry.version, detail=True))


@bp.post("/instances")
def create_instance() -> Any:
    body = _body({"workflow", "data"}, {"workflow"})
    if not isinstance(body["workflow"], str):
        raise BadRequest("workflow_not_text", fields={"workflow": "must be a string"})
    view = _engine().start(body["workflow"], actor=current_actor(),  # type: ignore[arg-type]
                           data=body.get("data", {}))
    response = jsonify(instance_json(view))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_instance", instance_id=view.id)
    return response


@bp.get("/instances")
def list_instances() -> Any:
    mine = request.args.get("mine", "0")
    if mine not in ("0", "1", "true", "false"):
        raise BadRequest("invalid_parameter", fields={"mine": "0 or 1"})
    after = _int_arg("after", None, 1, 2**62)
    limit = _int_arg("limit", 50, 1, MAX_LIMIT) or 50
    workflow = request.args.get("workflow") or None
    state = request.args.get("state") or None
    page = _engine().list_instances(actor=current_actor(),  # type: ignore[arg-type]
                                    workflow=workflow, state=state,
                                    mine=mine in ("1", "true"), after=after, limit=limit)
    nxt = None
    if page.next is not None:
        params = {k: v for k, v in request.args.items() if k != "after"}
        nxt = url_for("api.list_instances", after=page.next, **params)
    return jsonify({"items": [instance_json(v) for v in page.items], "next": nxt})


@bp.get("/instances/<int:instance_id>")
def get_instance(instance_id: int) -> Any:
    return jsonify(instance_json(_engine().get(instance_id, actor=current_actor())))  # type: ignore[arg-type]


@bp.post("/instances/<int:instance_id>/actions")
def act(instance_id: int) -> Any:
    body = _body({"action", "comment", "data", "expected_version"}, {"action"})
    if not isinstance(body["action"], str):
        raise BadRequest("action_not_text", fields={"action": "must be a string"})
    actor = current_actor()
    engine = _engine()
    data = body.get("data")
    try:
        view = engine.act(instance_id, body["action"], actor=actor,  # type: ignore[arg-type]
                          comment=body.get("comment"), data=data if data is not None else {},
                          expected_version=body.get("expected_version"))
    except WorkflowError:
        # Whoever may not see the item learns nothing about it, not even why it failed.
        engine.get(instance_id, actor=actor)  # type: ignore[arg-type]
        raise
    return jsonify(instance_json(view))


@bp.get("/instances/<int:instance_id>/history")
def history(instance_id: int) -> Any:
    events = _engine().history(instance_id, actor=current_actor())  # type: ignore[arg-type]
    return jsonify([event_json(e) for e in events])


@bp.get("/tasks")
def tasks() -> Any:
    limit = _int_arg("limit", 50, 1, MAX_LIMIT) or 50
    found = _engine().inbox(actor=current_actor(), limit=limit,  # type: ignore[arg-type]
                            workflow=request.args.get("workflow") or None,
                            state=request.args.get("state") or None)
    return jsonify([task_json(t) for t in sorted(found, key=lambda t: not t.overdue)])


@bp.get("/reports/summary")
def summary() -> Any:
    actor = current_actor()
    if not has_role(actor, *REPORT_ROLES):
        raise Forbidden("role_required", roles=list(REPORT_ROLES))
    year = _int_arg("year", _engine().clock.now().year, 2000, 2100)
    assert year is not None
    return jsonify(reports.summary(_engine(), year, current_app.config["TIMEZONE"]))


