"""``innoflow demo --params FILE`` simulates a history through the engine and prints it;
``innoflow reports --year Y --xlsx FILE`` prints the figures and writes the workbook."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from workflow import Database, Engine, FakeClock, migrate, org, reports, simulate, store
from workflow.cli import cli


@pytest.fixture
def url(tmp_path, monkeypatch) -> str:
    """A database with the models' schema (the migrations are tested on their own), and
    cheap password hashes for the demo users (their deliberate cost is not tested here)."""
    monkeypatch.setattr(org, "hash_password", lambda password: f"plain:{len(password)}")
    db = Database(f"sqlite:///{tmp_path}/demo.db")
    db.create_all()
    db.dispose()
    monkeypatch.setattr(migrate, "upgrade", lambda database, revision="head": None)
    return db.url


def test_simulate__demo_with_params_runs_and_reports(url, tmp_path):
    runner = CliRunner(env={"INNOFLOW_DATABASE_URL": url})
    small = str(simulate.builtin("small"))
    result = runner.invoke(cli, ["demo", "--params", small], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "8 adopted" in result.output and "CNY 27,720.00 paid" in result.output
    assert "2025: adopted 8" in result.output
    out = tmp_path / "report.xlsx"
    result = runner.invoke(cli, ["reports", "--year", "2025", "--xlsx", str(out)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "reward_paid              27720.00" in result.output
    book = load_workbook(out)
    sheet = book["奖励金额（核定与发放）"]
    paid = sum(Decimal(str(row[5])) for row in sheet.iter_rows(min_row=2, values_only=True))
    db = Database(url)
    try:
        assert paid == reports.totals(db, year=2025)["reward_paid"] == Decimal("27720.00")
    finally:
        db.dispose()


def test_simulate__the_same_file_gives_the_same_history(tmp_path, calendar):
    results = []
    for name in ("first", "second"):
        db = Database(f"sqlite:///{tmp_path}/{name}.db")
        db.create_all()
        engine = Engine(db, clock=FakeClock(datetime(2025, 1, 1, tzinfo=UTC)), calendar=calendar)
        engine.load_definitions()
        simulate.run(engine, simulate.Params.load(simulate.builtin("small")))
        with db.read() as conn:
            heads = list(conn.execute(select(store.INSTANCES.c.id, store.INSTANCES.c.audit_head)
                                      .order_by(store.INSTANCES.c.id)))
        results.append((heads, reports.report(db, year=2025, now=engine.clock.now()).as_json()))
        db.dispose()
    assert results[0] == results[1]
    assert len(results[0][0]) == 31


def test_simulate__seed_company_file_pays_the_seed_figures():
    """The full two years run only through the CLI; here the file is checked against its rules."""
    from workflow.definition import default_folder, parse

    params = simulate.Params.load(simulate.builtin("seed_company"))
    rules = {name: parse((default_folder() / f"{name}.yaml").read_text(encoding="utf-8"))
             .extra["rewards"]["rules"] for name in ("suggestion", "award")}
    assert sum(int(m["count"]) for m in params.suggestions_adopted) == 406
    kinds = {k: sum(int(m["count"]) for m in params.awards if m["kind"] == k)
             for k in ("technical_innovation", "sci_tech_progress")}
    assert kinds == {"technical_innovation": 274, "sci_tech_progress": 5}
    assert params.years == 2
    for year in (2024, 2025):
        assert simulate.expected_paid(params, rules, year) == Decimal("830000.00")
