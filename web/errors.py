"""Engine error codes to HTTP statuses, the JSON error body of API.md, and the error page.

Programs get the error's key and parameters (``api_message_of``), people a sentence in
their language (``message_of``, from ``error_texts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workflow.errors import WorkflowError

from .error_texts import api_text, field_reasons, sentence_with_fields, text_of

STATUS = {
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "version_conflict": 409,
    "invalid_action": 409,
    "validation_failed": 422,
    "too_many_requests": 429,
}

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "invalid_action", 413: "too_large",
               415: "bad_request", 422: "validation_failed", 429: "too_many_requests"}


def status_of(code: str) -> int:
    return STATUS.get(code, 400)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = dict(fields)
    return {"error": body}


def json_error(status: int, code: str, message: str,
               fields: dict[str, str] | None = None) -> Response:
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    return response


def message_of(exc: WorkflowError, labels: Mapping[str, Any] | None = None) -> str:
    """What a page tells a person: the error's sentence and each field at fault, named by
    ``labels`` (the page's form labels) where given."""
    return sentence_with_fields(exc, labels)


def api_message_of(exc: WorkflowError) -> str:
    """The ``message`` of a JSON error: the key and its parameters, unchanged for clients."""
    return api_text(exc)


def init_app(app: Flask) -> None:
    @app.errorhandler(WorkflowError)
    def workflow_error(exc: WorkflowError) -> Any:
        status = status_of(exc.code)
        if wants_json():
            return json_error(status, exc.code, api_message_of(exc), exc.fields)
        return render_template("error.html", status=status, code=exc.code,
                               message=text_of(exc), fields=field_reasons(exc.fields)), status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        if wants_json():
            return json_error(400, "bad_request", f"CSRF check failed: {exc.description}")
        return render_template("error.html", status=400, code="bad_request",
                               message=_("The form expired or was not sent from this site. "
                                         "Please go back and try again."), fields=[]), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "error")
        if wants_json():
            response = json_error(status, code, exc.description or exc.name)
            if status == 405 and exc.get_response().headers.get("Allow"):
                response.headers["Allow"] = exc.get_response().headers["Allow"]
            return response
        return render_template("error.html", status=status, code=code,
                               message=exc.description or exc.name, fields=[]), status
