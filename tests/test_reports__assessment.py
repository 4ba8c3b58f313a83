"""双百分: scores entered by S&T admins, the product computed, innovation results beside it
(SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.payout_helpers import decided_suggestion
from workflow import assessment
from workflow.errors import Forbidden, ValidationFailed


def test_assessment__product_and_results_side_by_side(engine, actor):
    decided_suggestion(engine, actor, reward_decided="3000.00")
    now = engine.clock.now()
    assessment.enter(engine.db, actor=actor("sta_admin"), year=2026, organisation="smelting",
                     party_score="95.50", operations_score="98", now=now)
    assessment.enter(engine.db, actor=actor("sta_admin"), year=2026, organisation="power",
                     party_score="90", operations_score="80", now=now)
    assessment.enter(engine.db, actor=actor("sta_admin"), year=2026, organisation="power",
                     party_score="91", operations_score="80", now=now)
    found = {a.organisation: a for a in assessment.assessments(engine.db, year=2026)}
    smelting = found["smelting"]
    assert smelting.product == Decimal("9359.00") and smelting.percent == Decimal("93.59")
    assert (smelting.adopted_suggestions, smelting.reward_decided) == (1, Decimal("3000.00"))
    assert smelting.benefit_verified == Decimal("98000.00")
    assert found["power"].product == Decimal("7280")
    assert found["alumina"].product is None and found["alumina"].adopted_suggestions == 0
    assert smelting.as_json()["product"] == "9359.00"
    table = assessment.table(engine.db, year=2026)
    assert [r[1] for r in table.rows] == sorted(found)
    assert table.columns[4].zh == "综合得分（乘积）"


@pytest.mark.parametrize("party, operations, field", [
    ("100.01", "90", "party_score"), ("-1", "90", "party_score"),
    ("90", "90.001", "operations_score"), ("90", 88.5, "operations_score"),
])
def test_assessment__scores_are_checked(engine, actor, party, operations, field):
    with pytest.raises(ValidationFailed) as caught:
        assessment.enter(engine.db, actor=actor("sta_admin"), year=2026,
                         organisation="smelting", party_score=party,
                         operations_score=operations, now=engine.clock.now())
    assert field in caught.value.fields
    assert all(a.party_score is None for a in assessment.assessments(engine.db, year=2026))


def test_assessment__only_admins_enter_scores(engine, actor):
    for who in ("finance", "auditor", "general_manager"):
        with pytest.raises(Forbidden):
            assessment.enter(engine.db, actor=actor(who), year=2026, organisation="smelting",
                             party_score="90", operations_score="90", now=engine.clock.now())
    with pytest.raises(ValidationFailed):
        assessment.enter(engine.db, actor=actor("sta_admin"), year=2026, organisation="mars",
                         party_score="90", operations_score="90", now=engine.clock.now())
