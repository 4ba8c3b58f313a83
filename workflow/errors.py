"""The one error tree of the engine.

Every error carries a stable ``code``; only ``web/`` maps codes to HTTP statuses.
Messages are message keys with parameters, translated at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class WorkflowError(Exception):
    code = "workflow_error"

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        self.params = params

    def __str__(self) -> str:
        if self.fields:
            details = "; ".join(f"{k}: {v}" for k, v in sorted(self.fields.items()))
            return f"{self.message} ({details})"
        return self.message


class BadRequest(WorkflowError):
    code = "bad_request"


class Unauthenticated(WorkflowError):
    code = "unauthenticated"


class Forbidden(WorkflowError):
    code = "forbidden"


class NotFound(WorkflowError):
    code = "not_found"


class VersionConflict(WorkflowError):
    code = "version_conflict"


class InvalidAction(WorkflowError):
    code = "invalid_action"


class ValidationFailed(WorkflowError):
    code = "validation_failed"


class DefinitionError(WorkflowError):
    """A definition file that cannot be used; ``problems`` lists every one found."""

    code = "invalid_definition"

    def __init__(self, problems: list[Any]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
