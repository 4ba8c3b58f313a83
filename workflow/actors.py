"""Who acts: a frozen value built once per request from the user's roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

SYSTEM_USERNAME = "system"

ROLES = (
    "dept_head",
    "expert",
    "subcommittee_chair",
    "committee_member",
    "committee_office",
    "sta_admin",
    "finance",
    "general_manager",
    "auditor",
)
"""Every user may propose; these roles are granted on top, some with a scope."""

SCOPED_ROLES = {"dept_head": "department", "expert": "field", "subcommittee_chair": "field"}
"""Roles that only count within a department or a field."""


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    roles: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    department: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(id=0, username=SYSTEM_USERNAME)

    @property
    def is_system(self) -> bool:
        return self.id == 0 and self.username == SYSTEM_USERNAME

    def holds(self, role: str, scope: str = "") -> bool:
        return (role, scope) in self.roles

    @cached_property
    def read_only(self) -> bool:
        """An auditor reads everything and changes nothing."""
        return any(role == "auditor" for role, _ in self.roles)
