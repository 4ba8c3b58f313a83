"""Finance's monthly batch: confirm many payouts at once, each its own transaction.

Every payout of a batch is confirmed through ``Engine.act`` with its own payment reference
(``<batch>-<payout id>``), so each one is recorded by its own audit event, a failure stops
nothing else, and running the same batch again pays nobody twice (same references: replays).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .actors import Actor
from .engine import Engine
from .errors import ValidationFailed, WorkflowError
from .money import parse_money

AWAITING = "awaiting_payment"
_REFERENCE = re.compile(r"^[A-Za-z0-9_/-]{3,50}$")


@dataclass(frozen=True)
class BatchLine:
    payout_id: int
    ok: bool
    state: str | None
    payment_reference: str
    amount: Decimal | None = None
    error: str | None = None
    """The engine's stable error code when this payout was not confirmed."""


@dataclass(frozen=True)
class BatchResult:
    batch_reference: str
    lines: tuple[BatchLine, ...]

    @property
    def confirmed(self) -> int:
        return sum(1 for line in self.lines if line.ok)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.ok and line.amount is not None),
                   Decimal(0))


def awaiting_payment(engine: Engine, *, actor: Actor) -> list[tuple[int, int]]:
    """(payout id, version) of every payout waiting for payment, oldest first."""
    found: list[tuple[int, int]] = []
    after: int | None = None
    while True:
        page = engine.list_instances(actor=actor, workflow="payout", state=AWAITING,
                                     after=after, limit=200)
        found += [(view.id, view.version) for view in page.items]
        if page.next is None:
            break
        after = page.next
    return sorted(found)


def reference_for(batch_reference: str, payout_id: int) -> str:
    return f"{batch_reference}-{payout_id}"


def confirm_batch(engine: Engine, payouts: Sequence[int | tuple[int, int]], *, actor: Actor,
                  batch_reference: str, comment: str | None = None) -> BatchResult:
    """Confirm the payment of each payout; (id, version) pairs refuse a changed payout."""
    if not _REFERENCE.match(batch_reference or ""):
        raise ValidationFailed("invalid_reference", fields={
            "batch_reference": "3 to 50 letters, digits, '-', '_' or '/'"})
    lines = []
    for item in payouts:
        payout_id, version = item if isinstance(item, tuple) else (item, None)
        reference = reference_for(batch_reference, payout_id)
        try:
            view = engine.act(payout_id, "confirm_payment", actor=actor, comment=comment,
                              data={"payment_reference": reference}, expected_version=version)
        except WorkflowError as exc:
            lines.append(BatchLine(payout_id, False, None, reference, error=exc.code))
        else:
            lines.append(BatchLine(payout_id, True, view.state, reference,
                                   amount=parse_money(view.data["amount"])))
    return BatchResult(batch_reference, tuple(lines))
