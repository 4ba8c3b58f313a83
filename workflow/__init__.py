"""innoflow's engine: definitions, state machines, persistence, audit. No Flask here.

The one way in is :class:`Engine` (``start`` and ``act``); see ``workflow/README.md``.
"""

from .actors import Actor
from .clock import Clock, FakeClock, SystemClock
from .db import Database
from .engine import Engine
from .errors import (
    BadRequest,
    DefinitionError,
    Forbidden,
    InvalidAction,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    VersionConflict,
    WorkflowError,
)

__all__ = [
    "Actor",
    "BadRequest",
    "Clock",
    "Database",
    "DefinitionError",
    "Engine",
    "FakeClock",
    "Forbidden",
    "InvalidAction",
    "NotFound",
    "SystemClock",
    "Unauthenticated",
    "ValidationFailed",
    "VersionConflict",
    "WorkflowError",
]
