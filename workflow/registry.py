"""The named guards and effects a definition may use, each with the schema of its parameters.

A definition refers to these by name only; there is no eval, import path or reflection.
A deployment may add its own with :func:`guard` and :func:`effect` before loading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from . import rewards
from .context import ActionContext, LinkRequest, SpawnRequest
from .errors import ValidationFailed
from .money import format_money, parse_money

MONEY = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$"}
FIELD = {"type": "string", "minLength": 1}

_MONEY_FIELD = {"type": "string", "format": "money"}
REWARD_FIELDS = MappingProxyType({
    "reward": {"type": "object", "properties": {
        "components": {"type": "object", "additionalProperties": _MONEY_FIELD},
        "base": _MONEY_FIELD, "amount": _MONEY_FIELD}},
    "reward_amount": _MONEY_FIELD,
})
"""What an effect that decides a reward writes into the item's data (``_spawn_payout``)."""


@dataclass(frozen=True)
class Entry:
    name: str
    func: Callable[..., Any]
    params: Mapping[str, Any]
    validates: bool = False
    """An effect that only checks the data (re-run when the proposer revises it)."""
    sets: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The schema of each field the effect writes into the item's data (to show them)."""
    names_written: tuple[str, ...] = ()
    """The parameters that name further fields the effect writes (a list of names, or a
    mapping whose keys are), so a definition may name those fields elsewhere."""


GUARDS: dict[str, Entry] = {}
EFFECTS: dict[str, Entry] = {}
QUERIES: dict[str, Callable[..., Any]] = {}
"""Named reads an effect may make in its action's transaction (``ctx.query``)."""


def _params(properties: Mapping[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required if required is not None else properties),
        "additionalProperties": False,
    }


def guard(name: str, properties: Mapping[str, Any], required: list[str] | None = None):
    def register(func: Callable[..., bool]) -> Callable[..., bool]:
        GUARDS[name] = Entry(name, func, _params(properties, required))
        return func

    return register


def effect(name: str, properties: Mapping[str, Any], required: list[str] | None = None, *,
           validates: bool = False, sets: Mapping[str, Any] | None = None,
           names_written: tuple[str, ...] = ()):
    def register(func: Callable[..., None]) -> Callable[..., None]:
        EFFECTS[name] = Entry(name, func, _params(properties, required), validates,
                              MappingProxyType(dict(sets or {})), names_written)
        return func

    return register


# ---------------------------------------------------------------- guards


def _amount(ctx: ActionContext, field: str) -> Decimal | None:
    value = ctx.data.get(field)
    if value is None:
        return None
    return parse_money(value)


@guard("amount_above", {"field": FIELD, "limit": MONEY})
def amount_above(ctx: ActionContext, *, field: str, limit: str) -> bool:
    amount = _amount(ctx, field)
    return amount is not None and amount > Decimal(limit)


@guard("amount_at_most", {"field": FIELD, "limit": MONEY})
def amount_at_most(ctx: ActionContext, *, field: str, limit: str) -> bool:
    amount = _amount(ctx, field)
    return amount is not None and amount <= Decimal(limit)


@guard("field_equals", {"field": FIELD, "value": {}})
def field_equals(ctx: ActionContext, *, field: str, value: Any) -> bool:
    return bool(ctx.data.get(field) == value)


@guard("field_in", {"field": FIELD, "values": {"type": "array", "minItems": 1}})
def field_in(ctx: ActionContext, *, field: str, values: list[Any]) -> bool:
    return ctx.data.get(field) in values


@guard("number_at_least", {"field": FIELD, "min": {"type": "number"}})
def number_at_least(ctx: ActionContext, *, field: str, min: float) -> bool:
    value = ctx.data.get(field)
    return isinstance(value, int | float) and value >= min


@guard("not_yet_approved", {})
def not_yet_approved(ctx: ActionContext) -> bool:
    return not ctx.first_approved


@guard("came_from", {"state": FIELD})
def came_from(ctx: ActionContext, *, state: str) -> bool:
    """Generated for ``dest: returned_from``: resubmission goes back where it was returned."""
    return ctx.returned_from == state


@guard("chosen_target", {"state": FIELD})
def chosen_target(ctx: ActionContext, *, state: str) -> bool:
    """Generated for ``return_to``: the step the actor chose to return to."""
    return ctx.target == state


INTERNAL_GUARDS = frozenset({"came_from", "chosen_target"})


# ---------------------------------------------------------------- effects


@effect("set_fields", {"values": {"type": "object", "minProperties": 1}},
        names_written=("values",))
def set_fields(ctx: ActionContext, *, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        ctx.set(key, value)


def split_by_shares(amount: Decimal, shares: list[tuple[str, Decimal]], *,
                    remainder_to: str | None = None) -> list[dict[str, str]]:
    """Split ``amount`` by percentage shares; see :func:`workflow.rewards.split_by_shares`."""
    return [line.record() for line in rewards.split_by_shares(amount, shares,
                                                              remainder_to=remainder_to)]


def team_shares(ctx: ActionContext, owner: str) -> list[tuple[str, Decimal]]:
    """The declared team's shares (which must add up to 100), or the owner alone."""
    team = [m for m in ctx.data.get("team") or [] if isinstance(m, Mapping)]
    if not team:
        return [(owner, Decimal(100))]
    return rewards.parse_shares(team)


def _payee(ctx: ActionContext) -> str:
    me = ctx.lookup(ctx.instance_id) if ctx.instance_id is not None else None
    owner = str(ctx.data.get("lead") or (me.created_by if me else ""))
    if not owner:
        raise ValueError("spawn_payout: nobody to pay")
    return owner


def _spawn_payout(ctx: ActionContext, decision: rewards.RewardDecision,
                  remainder_field: str = "remainder_to") -> None:
    """Record the decision with the item and start a payout split among the team."""
    ctx.set("reward", decision.record())
    ctx.set("reward_amount", format_money(decision.amount))
    if decision.amount <= 0:
        return
    owner = _payee(ctx)
    shares = team_shares(ctx, owner)
    names = [who for who, _ in shares]
    declared = ctx.data.get(remainder_field)
    remainder_to = str(declared) if declared else (owner if owner in names else names[0])
    lines = split_by_shares(decision.amount, shares, remainder_to=remainder_to)
    ctx.spawns.append(
        SpawnRequest(
            workflow="payout",
            link_kind="payout",
            data={
                "title": str(ctx.data.get("title", "")),
                "source_id": ctx.instance_id,
                "source_workflow": ctx.workflow,
                "department": ctx.data.get("department"),
                "year": decision.year,
                "amount": format_money(decision.amount),
                "remainder_to": remainder_to,
                "reward": decision.record(),
                "lines": lines,
            },
        )
    )


@effect(
    "spawn_payout",
    {
        "amount_field": FIELD,
        "grade_field": FIELD,
        "grade_table": {"type": "object", "additionalProperties": MONEY},
    },
    required=[],
    sets=REWARD_FIELDS,
)
def spawn_payout(
    ctx: ActionContext,
    *,
    amount_field: str | None = None,
    grade_field: str | None = None,
    grade_table: Mapping[str, str] | None = None,
) -> None:
    """Start a payout for the reward decided here (an entered amount or a grade table)."""
    if amount_field:
        rule: dict[str, Any] = {"name": f"decided:{amount_field}",
                                "decided": {"field": amount_field}}
    elif grade_field and grade_table is not None:
        rule = {"name": f"grade_table:{grade_field}",
                "grade_table": {"field": grade_field, "table": dict(grade_table)}}
    else:
        raise ValueError("spawn_payout needs amount_field or grade_field with grade_table")
    _spawn_payout(ctx, rewards.compute([rule], ctx.data, rewards.decision_year(ctx.now)))


@effect("decide_reward", {"rules": rewards.RULES_SCHEMA, "remainder_field": FIELD},
        required=["rules"], sets=REWARD_FIELDS)
def decide_reward(ctx: ActionContext, *, rules: list[Mapping[str, Any]],
                  remainder_field: str = "remainder_to") -> None:
    """Apply the year's reward rule, record rule, inputs and result, and start the payout."""
    decision = rewards.compute(rules, ctx.data, rewards.decision_year(ctx.now))
    _spawn_payout(ctx, decision, remainder_field)


@effect(
    "link_parent",
    {
        "field": FIELD,
        "workflow": {"oneOf": [FIELD, {"type": "array", "items": FIELD, "minItems": 1}]},
        "states": {"type": "array", "items": FIELD, "minItems": 1},
        "kind": FIELD,
        "copy": {"type": "array", "items": FIELD},
        "owner_only": {"type": "boolean"},
    },
    required=["field", "workflow", "states", "kind"],
    names_written=("copy",),
)
def link_parent(
    ctx: ActionContext,
    *,
    field: str,
    workflow: str | list[str],
    states: list[str],
    kind: str,
    copy: list[str] | None = None,
    owner_only: bool = False,
) -> None:
    """Tie a new instance to the one it belongs to (an acceptance to its project)."""
    raw = ctx.data.get(field)
    if raw is None:
        return
    kinds = [workflow] if isinstance(workflow, str) else list(workflow)
    parent = ctx.lookup(int(raw)) if isinstance(raw, int) else None
    if parent is None or parent.workflow not in kinds:
        raise ValidationFailed("not_found", fields={field: f"no {' or '.join(kinds)} with this id"})
    if parent.state not in states:
        raise ValidationFailed(
            "wrong_state", fields={field: f"the {parent.workflow} is {parent.state}, which does "
                                          f"not qualify"}
        )
    if owner_only and parent.created_by != ctx.actor.username:
        raise ValidationFailed("not_owner", fields={field: f"only the {parent.workflow}'s "
                                                           "owner may"})
    for key in copy or []:
        if key in parent.data and key not in ctx.data:
            ctx.set(key, parent.data[key])
    ctx.links.append(LinkRequest(target_id=parent.id, kind=kind))


@effect("check_sum", {"items": FIELD, "amount": FIELD, "total": FIELD}, validates=True)
def check_sum(ctx: ActionContext, *, items: str, amount: str, total: str) -> None:
    """Refuse data whose line amounts do not add up to the declared total."""
    lines = ctx.data.get(items) or []
    declared = parse_money(ctx.data.get(total, "0"))
    computed = sum((parse_money(line[amount]) for line in lines), Decimal(0))
    if computed != declared:
        raise ValidationFailed(
            "sum_mismatch",
            fields={total: f"must equal the sum of {items} ({format_money(computed)})"},
        )


@effect("check_shares", {"field": FIELD}, validates=True)
def check_shares(ctx: ActionContext, *, field: str) -> None:
    """Refuse a team whose declared shares do not add up to 100%."""
    team = ctx.data.get(field) or []
    if not team:
        return
    total = sum((Decimal(str(m.get("share", 0))) for m in team), Decimal(0))
    if total != 100:
        raise ValidationFailed("shares_total", fields={field: f"shares add up to {total}, not 100"})
    names = [m.get("username") for m in team]
    if len(set(names)) != len(names):
        raise ValidationFailed("duplicate_member", fields={field: "a person is listed twice"})


# ---------------------------------------------------------------- budgets


@effect("check_budget", {})
def check_budget(ctx: ActionContext) -> None:
    """Record whether this payout fits the year's budgets (read in the same transaction)."""
    if ctx.query is None:
        return
    ctx.set("budget_check", ctx.query(
        "budget_check", year=int(ctx.data["year"]), department=ctx.data.get("department"),
        amount=str(ctx.data["amount"])))


@guard("within_budget", {})
def within_budget(ctx: ActionContext) -> bool:
    """The recorded budget check found room (no budget set counts as room)."""
    found = ctx.data.get("budget_check")
    return not isinstance(found, Mapping) or bool(found.get("within", True))


def _budget_check(conn: Any, **params: Any) -> Any:
    from . import budgets

    return budgets.check(conn, **params)


QUERIES["budget_check"] = _budget_check
