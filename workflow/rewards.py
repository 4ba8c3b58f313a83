"""Reward rules: which amount a decided suggestion or award earns, and how it is split.

Rules are data from a definition's ``rewards:`` block (handed to the ``decide_reward``
effect): per year and, optionally, per value of a field (an award's kind). A rule adds up
to one base amount from its components — a grade table, bands of verified annual benefit,
a percentage of that benefit with a floor and a cap, an amount the deciding person entered —
combined by ``max`` (the default) or ``sum``, then multiplied (e.g. for "five small"
categories) and capped. The amount is rounded once, in :func:`round_reward`; the split
hands out whole cents and gives the remainder to a declared person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .errors import ValidationFailed
from .money import CENT, format_money, parse_money

ZONE = ZoneInfo("Asia/Shanghai")
HUNDRED = Decimal(100)
FIVE_SMALL = ("small_invention", "small_creation", "small_renovation", "small_design",
              "small_suggestion")
"""The "five small" (五小) categories of a suggestion."""

_MONEY = {"type": "string", "pattern": r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"}
_FACTOR = {"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,4})?$"}
_FIELD = {"type": "string", "minLength": 1}


def _object(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": dict(properties), "required": required,
            "additionalProperties": False}


RULE_SCHEMA = _object(
    {
        "name": {"type": "string", "minLength": 1},
        "years": _object({"from": {"type": "integer"}, "to": {"type": "integer"}}, []),
        "match": {"type": "object", "minProperties": 1,
                  "additionalProperties": {"type": "array", "minItems": 1}},
        "grade_table": _object({"field": _FIELD,
                                "table": {"type": "object", "additionalProperties": _MONEY}},
                               ["field", "table"]),
        "benefit_bands": _object({"field": _FIELD, "bands": {
            "type": "array", "minItems": 1,
            "items": _object({"from": _MONEY, "amount": _MONEY}, ["from", "amount"])}},
            ["field", "bands"]),
        "benefit_percent": _object({"field": _FIELD, "percent": _FACTOR, "floor": _MONEY,
                                    "cap": _MONEY}, ["field", "percent"]),
        "decided": _object({"field": _FIELD}, ["field"]),
        "combine": {"enum": ["max", "sum"]},
        "multiplier": _object({"field": _FIELD,
                               "values": {"type": "object", "additionalProperties": _FACTOR}},
                              ["field", "values"]),
        "cap": _MONEY,
    },
    ["name"],
)
RULES_SCHEMA = {"type": "array", "minItems": 1, "items": RULE_SCHEMA}
COMPONENTS = ("decided", "grade_table", "benefit_bands", "benefit_percent")


@dataclass(frozen=True)
class RewardDecision:
    """The rule that applied, what it read, and what it gave (money as Decimal)."""

    rule: str
    year: int
    inputs: Mapping[str, Any]
    components: Mapping[str, Decimal]
    base: Decimal
    multiplier: Decimal
    amount: Decimal

    def record(self) -> dict[str, Any]:
        """The JSON form kept with the decision: money and factors as strings."""
        return {
            "rule": self.rule,
            "year": self.year,
            "inputs": dict(self.inputs),
            "components": {k: format_money(v) for k, v in self.components.items()},
            "base": format_money(self.base),
            "multiplier": str(self.multiplier),
            "amount": format_money(self.amount),
        }


@dataclass(frozen=True)
class PayoutLine:
    username: str
    share: Decimal
    amount: Decimal

    def record(self) -> dict[str, str]:
        return {"username": self.username, "share": _share_text(self.share),
                "amount": format_money(self.amount)}


def round_reward(amount: Decimal) -> Decimal:
    """The one place a computed reward is rounded: to the cent, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def decision_year(moment: datetime) -> int:
    """Rules and budgets count by the calendar year in China."""
    return moment.astimezone(ZONE).year


def select_rule(rules: Sequence[Mapping[str, Any]], data: Mapping[str, Any], year: int
                ) -> Mapping[str, Any]:
    for rule in rules:
        years = rule.get("years") or {}
        if "from" in years and year < years["from"]:
            continue
        if "to" in years and year > years["to"]:
            continue
        match = rule.get("match") or {}
        if all(data.get(field) in values for field, values in match.items()):
            return rule
    raise ValidationFailed("no_reward_rule", fields={"reward": f"no reward rule for {year}"})


def _money_input(data: Mapping[str, Any], field: str) -> Decimal | None:
    value = data.get(field)
    if value is None:
        return None
    try:
        return parse_money(value)
    except ValueError as exc:
        raise ValidationFailed("invalid_amount", fields={field: str(exc)}) from exc


def compute(rules: Sequence[Mapping[str, Any]], data: Mapping[str, Any], year: int
            ) -> RewardDecision:
    """Apply the year's rule to the item's data; raises ValidationFailed when none applies."""
    rule = select_rule(rules, data, year)
    inputs: dict[str, Any] = {}
    components: dict[str, Decimal] = {}
    if "decided" in rule:
        field = rule["decided"]["field"]
        decided = _money_input(data, field)
        if decided is not None:
            inputs[field] = format_money(decided)
            components["decided"] = decided
    if "grade_table" in rule:
        field = rule["grade_table"]["field"]
        grade = data.get(field)
        inputs[field] = grade
        if grade is not None and str(grade) in rule["grade_table"]["table"]:
            components["grade_table"] = Decimal(rule["grade_table"]["table"][str(grade)])
    for kind in ("benefit_bands", "benefit_percent"):
        if kind not in rule:
            continue
        field = rule[kind]["field"]
        benefit = _money_input(data, field)
        if benefit is None:
            continue
        inputs[field] = format_money(benefit)
        components[kind] = (_band(rule[kind]["bands"], benefit) if kind == "benefit_bands"
                            else _percent(rule[kind], benefit))
    if "decided" in components:
        base = components["decided"]
    elif not components:
        base = Decimal(0)
    elif rule.get("combine", "max") == "sum":
        base = sum(components.values(), Decimal(0))
    else:
        base = max(components.values())
    multiplier = Decimal(1)
    if "multiplier" in rule and "decided" not in components:
        field = rule["multiplier"]["field"]
        inputs[field] = data.get(field)
        multiplier = Decimal(rule["multiplier"]["values"].get(str(data.get(field)), "1"))
    amount = base * multiplier
    if "cap" in rule and "decided" not in components:
        amount = min(amount, Decimal(rule["cap"]))
    return RewardDecision(rule=str(rule["name"]), year=year, inputs=inputs,
                          components=components, base=base, multiplier=multiplier,
                          amount=round_reward(amount))


def _band(bands: Sequence[Mapping[str, str]], benefit: Decimal) -> Decimal:
    found = Decimal(0)
    for band in sorted(bands, key=lambda b: Decimal(b["from"])):
        if benefit >= Decimal(band["from"]):
            found = Decimal(band["amount"])
    return found


def _percent(spec: Mapping[str, str], benefit: Decimal) -> Decimal:
    amount = benefit * Decimal(spec["percent"]) / HUNDRED
    if "floor" in spec and benefit > 0:
        amount = max(amount, Decimal(spec["floor"]))
    if "cap" in spec:
        amount = min(amount, Decimal(spec["cap"]))
    return amount


# ---------------------------------------------------------------- splitting


def _share_text(share: Decimal) -> str:
    text = format(share.normalize(), "f")
    return text


def parse_shares(team: Sequence[Mapping[str, Any]]) -> list[tuple[str, Decimal]]:
    """Declared team shares as (username, percent); they must add up to exactly 100."""
    shares: list[tuple[str, Decimal]] = []
    for member in team:
        who = str(member.get("username") or "")
        raw = member.get("share")
        if not who or isinstance(raw, bool) or not isinstance(raw, int | str | Decimal):
            raise ValidationFailed("invalid_share", fields={"team": "each member needs a "
                                                                    "username and a share"})
        try:
            share = Decimal(str(raw))
        except ArithmeticError as exc:
            raise ValidationFailed("invalid_share", fields={"team": f"{raw!r}"}) from exc
        if not share.is_finite() or share <= 0:
            raise ValidationFailed("invalid_share", fields={"team": f"{who}: share must be "
                                                                    "positive"})
        shares.append((who, share))
    names = [who for who, _ in shares]
    if len(set(names)) != len(names):
        raise ValidationFailed("duplicate_member", fields={"team": "a person is listed twice"})
    total = sum((s for _, s in shares), Decimal(0))
    if total != HUNDRED:
        raise ValidationFailed("shares_total",
                               fields={"team": f"shares add up to {total}, not 100"})
    return shares


def split_by_shares(amount: Decimal, shares: Sequence[tuple[str, Decimal]], *,
                    remainder_to: str | None = None) -> list[PayoutLine]:
    """Split ``amount`` (whole cents, positive) by percentage shares adding up to 100.

    Each person gets their share rounded down to the cent; the cents left over go to
    ``remainder_to`` (default: the first person), so the lines always add up to the amount.
    A person whose share comes to nothing gets no line: there are no zero or negative lines.
    """
    if amount != amount.quantize(CENT) or amount <= 0:
        raise ValidationFailed("invalid_amount", fields={"amount": "must be a positive amount "
                                                                   "of whole cents"})
    if any(share <= 0 for _, share in shares):
        raise ValidationFailed("invalid_share", fields={"team": "shares must be positive"})
    if not shares or sum((s for _, s in shares), Decimal(0)) != HUNDRED:
        raise ValidationFailed("shares_total", fields={"team": "shares must add up to 100"})
    names = [who for who, _ in shares]
    receiver = remainder_to or names[0]
    if receiver not in names:
        raise ValidationFailed("remainder_not_in_team",
                               fields={"remainder_to": f"{receiver} is not on the team"})
    amounts = {who: (amount * share / HUNDRED).quantize(CENT, rounding=ROUND_DOWN)
               for who, share in shares}
    amounts[receiver] += amount - sum(amounts.values(), Decimal(0))
    return [PayoutLine(who, share, amounts[who]) for who, share in shares if amounts[who] > 0]


def lines_total(lines: Sequence[Mapping[str, Any]]) -> Decimal:
    return sum((parse_money(line["amount"]) for line in lines), Decimal(0))
