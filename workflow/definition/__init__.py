"""Definitions: parsed from YAML, checked all at once, then immutable.

A definition is a different thing from the instances that run on it: this package only
reads files and says what is wrong with them, with file, line and reason.
``workflow/README.md`` lists which of its modules reads or checks what.
"""

from ..errors import DefinitionError
from .folder import decode, default_folder, files_in, load_folder, read_text
from .model import (
    BY,
    DEFAULT_HABITS,
    FLAG,
    HABITS,
    MODES,
    OUTCOMES,
    REASSIGN,
    RETURNED_FROM,
    Assignee,
    Call,
    Criterion,
    Definition,
    Problem,
    Reminders,
    Scoring,
    State,
    Step,
    Timer,
    Transition,
    Vote,
)
from .parser import parse
from .yaml_lines import MAX_DEPTH

__all__ = [
    "BY",
    "DEFAULT_HABITS",
    "FLAG",
    "HABITS",
    "MAX_DEPTH",
    "MODES",
    "OUTCOMES",
    "REASSIGN",
    "RETURNED_FROM",
    "Assignee",
    "Call",
    "Criterion",
    "Definition",
    "DefinitionError",
    "Problem",
    "Reminders",
    "Scoring",
    "State",
    "Step",
    "Timer",
    "Transition",
    "Vote",
    "decode",
    "default_folder",
    "files_in",
    "load_folder",
    "parse",
    "read_text",
]
