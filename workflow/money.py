"""Money is Decimal end to end: parsed from strings, never from floats, never rounded here."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MONEY_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"
"""Amounts are never negative here: rewards, budgets, benefits and payments."""
_MONEY_RE = re.compile(MONEY_PATTERN)
CENT = Decimal("0.01")


def parse_money(value: object) -> Decimal:
    """Parse a decimal string with at most two decimals; anything else is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise ValueError("money must be given as a decimal string, e.g. \"1234.50\"")
    text = str(value)
    if not _MONEY_RE.match(text):
        raise ValueError(f"not an amount with at most two decimals: {text!r}")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes this
        raise ValueError(f"not an amount: {text!r}") from exc


def format_money(amount: Decimal) -> str:
    """The canonical string form: exactly two decimals."""
    return str(amount.quantize(CENT))
