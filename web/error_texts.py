"""What an engine error says to a person on a page, in the page's language.

The engine names an error by a stable key with parameters (``instance_not_found``,
``id=42``) and names the fields at fault with a short English reason (``required``). The
JSON API passes both on untouched, for programs; people get the sentences below instead.
A key or reason without a text here falls back to what the API says, so a new key in the
engine shows something rather than nothing (and ``tests/test_web__error_texts.py`` fails
until it has its text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from workflow.errors import WorkflowError

from .forms import FIELD_LABELS, role_label, row_label
from .i18n import language

MESSAGES: dict[str, Any] = {
    # Finding things
    "instance_not_found": _l("Item %(id)s does not exist, or you may not see it."),
    "not_found": _l("The item this refers to was not found."),
    "user_not_found": _l("There is no user %(username)s."),
    "delegation_not_found": _l("Delegation %(id)s does not exist."),
    "definition_not_found": _l("Lifecycle version %(id)s does not exist."),
    "workflow_not_found": _l("There is no lifecycle called %(workflow)s."),
    # Who may act
    "login_required": _l("Please log in first."),
    "role_required": _l("Only these roles may open this page: %(roles)s."),
    "read_only": _l("An auditor can view everything but change nothing."),
    "system_only": _l("Only the system performs this step."),
    "spawn_only": _l("This kind of item is not submitted directly: it is created from "
                     "another item."),
    "owner_only": _l("Only the person who submitted this item may do this."),
    "own_item": _l("You are named on this item, so you may not act on its approval steps."),
    "not_assigned": _l("This step is not assigned to you."),
    "not_permitted": _l("You may not do this on this item."),
    "segregation_of_duties": _l("You already took part in an earlier step of this item; "
                                "this step must be done by someone else."),
    "not_budget_admin": _l("Only the S&T administrator or finance may set reward budgets."),
    "not_assessment_admin": _l("Only the S&T administrator may enter assessment scores."),
    # The item's state
    "stale_version": _l("Someone changed this item in the meantime (it is now at version "
                        "%(current)s). Please reload it and try again."),
    "action_not_available": _l("This action is not possible at the item's current step."),
    "already_done_differently": _l("This was already done, with a different value. "
                                   "It cannot be done again differently."),
    "guard_failed": _l("The conditions for this action are not met yet."),
    "guard_error": _l("The conditions for this action could not be checked: some of the "
                      "item's values are missing or not valid."),
    "already_urged_today": _l("A reminder was already sent today. You can send the next one "
                              "tomorrow."),
    "nothing_to_reassign": _l("No overdue task could be passed on to someone else."),
    "replay_mismatch": _l("The history of this item does not match its lifecycle at entry "
                          "%(seq)s."),
    "replay_undeclared": _l("The history of this item holds an action its lifecycle does "
                            "not declare, at entry %(seq)s."),
    # Values
    "invalid_data": _l("Some values are missing or not valid."),
    "invalid_spawn": _l("The follow-up item could not be created: some of its values are "
                        "missing or not valid."),
    "invalid_body": _l("The request is missing values or has unknown ones."),
    "body_not_object": _l("The request must be a JSON object."),
    "data_not_object": _l("The item's values must be a JSON object."),
    "action_not_text": _l("The action must be named as text."),
    "workflow_not_text": _l("The lifecycle must be named as text."),
    "comment_not_text": _l("The comment must be text."),
    "comment_required": _l("Please write a comment for this action."),
    "expected_version_not_integer": _l("The version must be a whole number."),
    "invalid_parameter": _l("A value in the address is not valid."),
    "limit_not_positive": _l("The number of rows must be at least 1."),
    "wrong_state": _l("The item this refers to is not at a step that allows this."),
    "not_owner": _l("Only the owner of the item this refers to may do this."),
    "sum_mismatch": _l("The amounts do not add up to the total."),
    "invalid_target": _l("Please choose a step to return the item to."),
    "invalid_date": _l("Please enter a date as YYYY-MM-DD."),
    "invalid_delegation": _l("The delegation cannot be saved."),
    "invalid_amount": _l("The amount is not valid."),
    "invalid_year": _l("The year is not valid."),
    "invalid_score": _l("The score must be between 0 and 100."),
    "invalid_share": _l("Each team member needs a username and a share above zero."),
    "shares_total": _l("The team members' shares must add up to 100%%."),
    "duplicate_member": _l("A person is listed twice on the team."),
    "remainder_not_in_team": _l("The rounding remainder must go to a member of the team."),
    "no_reward_rule": _l("No reward rule applies to this year yet."),
    "invalid_reference": _l("The batch reference is not valid."),
    "batch_failed": _l("Some payouts could not be confirmed."),
    "unknown_department": _l("There is no such department."),
    "unknown_organisation": _l("There is no such organisation."),
    "unknown_reference": _l("Some values name a department, field or user that does not "
                            "exist."),
    # Signers, transfers and reminders
    "unknown_user": _l("There is no such user."),
    "self": _l("Please choose someone other than yourself."),
    "not_eligible": _l("That person may not act on this step."),
    "already_holds": _l("That person already has a task on this step."),
    "already_decided": _l("That person has already decided on this step."),
    "not_added": _l("You can only remove a signer you added who has not decided yet."),
    # Users, roles and passwords
    "invalid_user": _l("The user cannot be added."),
    "invalid_roles": _l("The roles cannot be saved."),
    "unknown_role": _l("There is no such role."),
    "scope_required": _l("This role needs a scope, written role@scope."),
    "scope_not_allowed": _l("This role takes no scope."),
    "passwords_differ": _l("The two new passwords are not the same."),
    "weak_password": _l("The new password is too short: it needs at least 8 characters."),
    "wrong_password": _l("The current password is not correct."),
    # Attachments
    "empty_file": _l("The file is empty."),
    "file_too_large": _l("The file is too large."),
    "file_type_refused": _l("Only PDF, PNG, JPEG, Office documents or text files can be "
                            "attached."),
}
"""One sentence per error key the engine and the web layer raise."""

REASONS: dict[str, Any] = {
    "required": _l("required"),
    "unknown field": _l("not expected here"),
    "differs": _l("does not match"),
    "wrong": _l("not correct"),
    "at least 8 characters": _l("at least 8 characters"),
    "already taken": _l("already taken"),
    "empty": _l("empty"),
    "must be a JSON object": _l("must be a JSON object"),
    "must be a string": _l("must be text"),
    "must be text": _l("must be text"),
    "must be an integer": _l("must be a whole number"),
    "must be at least 1": _l("must be at least 1"),
    "must be a finite number": _l("must be a number"),
    "must not be negative": _l("must not be negative"),
    "must be a positive amount of whole cents": _l("must be a positive amount in yuan and fen"),
    "must be an amount with at most two decimals, as a string":
        _l("must be an amount with at most two decimals"),
    "between 0 and 100": _l("between 0 and 100"),
    "0 or 1": _l("0 or 1"),
    "a date (YYYY-MM-DD)": _l("a date (YYYY-MM-DD)"),
    "a year between 2000 and 2100": _l("a year between 2000 and 2100"),
    "a person is listed twice": _l("a person is listed twice"),
    "choose someone else": _l("choose someone else"),
    "shares must be positive": _l("shares must be above zero"),
    "shares must add up to 100": _l("shares must add up to 100"),
    "each member needs a username and a share": _l("each member needs a username and a share"),
    "3 to 50 letters, digits, '-', '_' or '/'": _l("3 to 50 letters, digits, '-', '_' or '/'"),
    "PDF, PNG, JPEG, Office (zip) or text only": _l("PDF, PNG, JPEG, Office or text only"),
    "cannot delegate to oneself": _l("you cannot delegate to yourself"),
    "an auditor cannot act for others": _l("an auditor cannot act for others"),
    "times need a time zone": _l("times need a time zone"),
    "must be after starts_at": _l("must be after the start"),
    "must be in the future": _l("must be in the future"),
}
"""The engine's fixed short reasons for a field; other reasons are shown as they are."""

_UNKNOWN = re.compile(r"unknown (department|field|user|username|role) '([^']*)'")
_UNKNOWN_TEXTS: dict[str, Any] = {
    "department": _l("no department %(code)s"),
    "field": _l("no professional field %(code)s"),
    "user": _l("no user %(code)s"),
    "username": _l("no user %(code)s"),
    "role": _l("no role %(code)s"),
}
"""``unknown field 'x'`` names a professional field (专业领域) that does not exist, not a
form field: the engine says so for a role's scope and for values that name one."""

_PUNCTUATION = {"zh": ("：", "；", "。", ""), "en": (": ", "; ", ".", " ")}
"""Per language: after a field's name, between fields, at the end, before the fields."""


def text_of(exc: WorkflowError) -> str:
    """The error's sentence, or what the API says when the key has none."""
    text = MESSAGES.get(exc.message)
    if text is None:
        return api_text(exc)
    try:
        return str(text) % {name: _param(name, value) for name, value in exc.params.items()}
    except (KeyError, TypeError, ValueError):
        return api_text(exc)


def api_text(exc: WorkflowError) -> str:
    """The key and its parameters, as the JSON API has always answered them."""
    params = ", ".join(f"{k}={v}" for k, v in sorted(exc.params.items()))
    return f"{exc.message} ({params})" if params else exc.message


def _param(name: str, value: Any) -> str:
    if name == "roles" and isinstance(value, list | tuple):
        return ", ".join(role_label(str(r)) for r in value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def reason_text(reason: str) -> str:
    """A field's reason in the page's language when it is one the engine always uses."""
    known = REASONS.get(reason)
    if known is not None:
        return str(known)
    unknown = _UNKNOWN.fullmatch(reason)
    if unknown:
        return str(_UNKNOWN_TEXTS[unknown.group(1)]) % {"code": unknown.group(2)}
    return reason


def field_name(path: str, labels: Mapping[str, Any] | None = None) -> str:
    """A field as its form labels it (``team.0.share``: the team's first row, its share)."""
    if labels and path in labels:
        return str(labels[path])
    parts = []
    for part in path.split("."):
        if part.isdigit():
            parts.append(row_label(int(part)))
        else:
            parts.append(str((labels or {}).get(part) or FIELD_LABELS.get(part) or part))
    return " · ".join(parts)


def field_reasons(fields: Mapping[str, str], labels: Mapping[str, Any] | None = None
                  ) -> list[tuple[str, str]]:
    """Each field at fault as (its label, why), in the order of the fields' paths."""
    return [(field_name(path, labels), reason_text(reason))
            for path, reason in sorted(fields.items())]


def reasons_by_path(fields: Mapping[str, str]) -> dict[str, str]:
    """The same fields keyed by path, for forms that show each reason next to its input."""
    return {path: reason_text(reason) for path, reason in fields.items()}


def sentence_with_fields(exc: WorkflowError, labels: Mapping[str, Any] | None = None) -> str:
    """The sentence followed by each field at fault, for a flash or a line above a form."""
    text = text_of(exc)
    if not exc.fields:
        return text
    colon, between, end, before = _PUNCTUATION.get(language(), _PUNCTUATION["en"])
    listed = between.join(f"{name}{colon}{why}" for name, why in field_reasons(exc.fields,
                                                                              labels))
    return f"{text}{before}{listed}{end}"
