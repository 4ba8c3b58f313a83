"""The OpenAPI 3.1 description of /api/v1 (what API.md promises, as a machine reads it)."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
STRING_OR_NULL = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
MONEY = {"type": "string", "pattern": r"^-?(0|[1-9][0-9]{0,11})\.[0-9]{2}$"}
LABEL = {"type": "object", "additionalProperties": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref("Error")}}}


ERRORS = {
    "400": _error("bad_request: the request is malformed"),
    "401": _error("unauthenticated: no session and no valid bearer token"),
    "403": _error("forbidden: the caller may not do this"),
    "404": _error("not_found: no such item, or not visible to the caller"),
    "409": _error("version_conflict or invalid_action"),
    "422": _error("validation_failed: fields names every problem"),
}


def _ok(schema: dict[str, Any], description: str = "OK", status: str = "200"
        ) -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": schema}}}}


def _responses(ok: dict[str, Any], *codes: str) -> dict[str, Any]:
    return {**ok, **{c: ERRORS[c] for c in ("400", "401", *codes)}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**62}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": [
                    "bad_request", "unauthenticated", "forbidden", "not_found",
                    "version_conflict", "invalid_action", "validation_failed",
                    "method_not_allowed", "too_large", "too_many_requests"]},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            }}},
    },
    "State": {"type": "object", "required": ["name", "label", "final"],
              "properties": {"name": {"type": "string"}, "label": LABEL,
                             "final": {"type": "boolean"}}},
    "Workflow": {
        "type": "object", "required": ["name", "version", "title", "states"],
        "properties": {"name": {"type": "string"}, "version": {"type": "integer"},
                       "title": LABEL, "states": {"type": "array", "items": _ref("State")}},
    },
    "WorkflowDetail": {
        "allOf": [_ref("Workflow"), {
            "type": "object", "required": ["start_schema", "initial", "transitions"],
            "properties": {
                "initial": {"type": "string"}, "start_by": {"type": "string"},
                "start_schema": {"type": "object",
                                 "description": "JSON Schema of a new instance's data"},
                "transitions": {"type": "array", "items": {"type": "object"}},
            }}],
    },
    "Task": {
        "type": "object",
        "required": ["id", "instance_id", "workflow", "state", "step", "due_at", "overdue"],
        "properties": {
            "id": {"type": "integer"}, "instance_id": {"type": "integer"},
            "workflow": {"type": "string"}, "state": {"type": "string"},
            "step": {"type": "string"}, "title": {"type": "string"},
            "role": {"type": "string"}, "scope": {"type": "string"},
            "assignee": STRING_OR_NULL, "status": {"type": "string"},
            "due_at": {"type": ["string", "null"], "format": "date-time"},
            "overdue": {"type": "boolean"}, "on_behalf_of": STRING_OR_NULL,
        },
    },
    "Action": {
        "type": "object", "required": ["name", "label", "outcome", "requires_comment", "schema"],
        "properties": {
            "name": {"type": "string"}, "label": LABEL,
            "outcome": {"enum": ["approve", "reject", "return", "withdraw", "submit", "other"]},
            "requires_comment": {"type": "boolean"},
            "schema": {"type": "object", "description": "JSON Schema of the action's data"},
        },
    },
    "Instance": {
        "type": "object",
        "required": ["id", "workflow", "definition_version", "state", "version", "data",
                     "created_by", "created_at", "tasks", "actions", "links"],
        "properties": {
            "id": {"type": "integer"}, "workflow": {"type": "string"},
            "definition_version": {"type": "integer"}, "state": {"type": "string"},
            "state_label": LABEL, "final": {"type": "boolean"},
            "version": {"type": "integer", "minimum": 1}, "title": {"type": "string"},
            "data": {"type": "object"}, "created_by": {"type": "string"},
            "created_at": TIME, "updated_at": TIME,
            "tasks": {"type": "array", "items": _ref("Task")},
            "actions": {"type": "array", "items": _ref("Action")},
            "links": {"type": "object",
                      "additionalProperties": {"type": "array", "items": {"type": "integer"}}},
            "chain": {"type": "array", "description": "the linked chain, first to last",
                      "items": {"type": "object", "required": ["id", "workflow", "state"],
                                "properties": {"id": {"type": "integer"},
                                               "workflow": {"type": "string"},
                                               "state": {"type": "string"}}}},
        },
    },
    "InstancePage": {
        "type": "object", "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": _ref("Instance")},
                       "next": {**STRING_OR_NULL,
                                "description": "the URL of the next page, or null"}},
    },
    "Event": {
        "type": "object",
        "required": ["seq", "at", "actor", "on_behalf_of", "action", "from_state", "to_state",
                     "comment", "data", "hash", "prev_hash"],
        "properties": {
            "seq": {"type": "integer"}, "at": TIME, "actor": {"type": "string"},
            "on_behalf_of": STRING_OR_NULL, "action": {"type": "string"},
            "outcome": {"type": "string"}, "from_state": STRING_OR_NULL,
            "to_state": {"type": "string"}, "fired": {"type": "boolean"},
            "comment": STRING_OR_NULL, "data": {"type": "object"},
            "hash": {"type": "string"}, "prev_hash": {"type": "string"},
        },
    },
    "Summary": {
        "type": "object",
        "required": ["year", "by_workflow", "adopted_suggestions", "awards_by_grade",
                     "reward_money"],
        "properties": {
            "year": {"type": "integer"},
            "by_workflow": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": {"type": "integer"}}},
            "adopted_suggestions": {"type": "integer"},
            "awards_by_grade": {"type": "object", "additionalProperties": {"type": "integer"}},
            "reward_money": {"type": "object", "required": ["decided", "paid"],
                             "properties": {"decided": MONEY, "paid": MONEY}},
        },
    },
    "StartRequest": {
        "type": "object", "required": ["workflow"], "additionalProperties": False,
        "properties": {"workflow": {"type": "string"}, "data": {"type": "object"}},
    },
    "ActionRequest": {
        "type": "object", "required": ["action"], "additionalProperties": False,
        "properties": {"action": {"type": "string"}, "comment": STRING_OR_NULL,
                       "data": {"type": "object"}, "expected_version": {"type": "integer"}},
    },
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(name)}}}


def spec() -> dict[str, Any]:
    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "page size")
    return {
        "openapi": "3.1.0",
        "info": {"title": "innoflow API", "version": "1.0.0",
                 "description": "Workflows and approvals: suggestions, projects, acceptances, "
                                "awards and reward payouts. Money is a decimal string; times "
                                "are ISO 8601 with a zone."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/workflows": {"get": {
                "operationId": "listWorkflows", "summary": "every workflow definition",
                "responses": _responses(_ok({"type": "array", "items": _ref("Workflow")}))}},
            "/workflows/{name}": {"get": {
                "operationId": "getWorkflow", "summary": "a definition with its start schema",
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": _responses(_ok(_ref("WorkflowDetail")), "404")}},
            "/instances": {
                "post": {
                    "operationId": "startInstance", "summary": "start an instance (a draft)",
                    "requestBody": _body("StartRequest"),
                    "responses": _responses(_ok(_ref("Instance"), "created", "201"),
                                            "403", "404", "409", "422")},
                "get": {
                    "operationId": "listInstances", "summary": "a page of visible instances",
                    "parameters": [
                        _query("workflow", {"type": "string"}, "only this workflow"),
                        _query("state", {"type": "string"}, "only this state"),
                        _query("mine", {"enum": ["0", "1", "true", "false"]},
                               "only what the caller started"),
                        _query("after", {"type": "integer", "minimum": 1, "maximum": 2**62},
                               "the cursor from next"),
                        limit],
                    "responses": _responses(_ok(_ref("InstancePage")))},
            },
            "/instances/{instance_id}": {"get": {
                "operationId": "getInstance", "summary": "one instance",
                "parameters": [INSTANCE_ID],
                "responses": _responses(_ok(_ref("Instance")), "404")}},
            "/instances/{instance_id}/actions": {"post": {
                "operationId": "act", "summary": "perform an action",
                "parameters": [INSTANCE_ID], "requestBody": _body("ActionRequest"),
                "responses": _responses(_ok(_ref("Instance")), "403", "404", "409", "422")}},
            "/instances/{instance_id}/history": {"get": {
                "operationId": "history", "summary": "the audit events, oldest first",
                "parameters": [INSTANCE_ID],
                "responses": _responses(_ok({"type": "array", "items": _ref("Event")}),
                                        "404")}},
            "/tasks": {"get": {
                "operationId": "inbox", "summary": "the caller's open tasks",
                "parameters": [_query("workflow", {"type": "string"}, "only this workflow"),
                               _query("state", {"type": "string"}, "only this step"), limit],
                "responses": _responses(_ok({"type": "array", "items": _ref("Task")}))}},
            "/reports/summary": {"get": {
                "operationId": "summary", "summary": "the year's counts and reward money",
                "parameters": [_query("year", {"type": "integer", "minimum": 2000,
                                               "maximum": 2100}, "the calendar year")],
                "responses": _responses(_ok(_ref("Summary")), "403")}},
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "a token from `innoflow users token` or the profile"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "the browser session; writes need X-CSRFToken"},
            },
        },
    }
