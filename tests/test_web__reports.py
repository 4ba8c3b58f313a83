"""The reports page, its XLSX and CSV downloads and the 双百分 form: the page shows the report
functions' own numbers, the workbook holds the same, errors are shown by field."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.web_helpers import form_post
from workflow import assessment, exports, reports, simulate

pytest_plugins = ["tests.web_fixtures"]

YEAR = 2025


@pytest.fixture
def history(engine):
    simulate.run(engine, simulate.Params.load(simulate.builtin("small")))
    return reports.report(engine.db, year=YEAR, now=engine.clock.now())


def _cells(html: str, table: str, key: str) -> list[str]:
    body = re.search(rf'<table class="list report" id="table-{table}">(.*?)</table>', html,
                     re.S)
    assert body, table
    return re.findall(rf'data-key="{key}">([^<]*)<', body.group(1))


def _money(text: str) -> Decimal:
    return Decimal(text.replace("¥", "").replace(",", ""))


def test_web__reports_page_shows_the_report_numbers(login, history):
    assert history.table("reward_money").rows, "the simulation decided no rewards"
    client = login("general_manager")
    html = client.get(f"/reports?year={YEAR}").get_data(as_text=True)
    money = history.table("reward_money")
    assert [_money(t) for t in _cells(html, "reward_money", "decided")] == \
        [row[3] for row in money.rows]
    assert [_money(t) for t in _cells(html, "reward_money", "paid")] == \
        [row[5] for row in money.rows]
    suggestions = history.table("suggestions")
    assert [int(t.replace(",", "")) for t in _cells(html, "suggestions", "adopted")] == \
        [row[4] for row in suggestions.rows]
    awards = history.table("awards")
    assert [int(t) for t in _cells(html, "awards", "count")] == [row[3] for row in awards.rows]
    for chart in ("reward_money", "suggestions", "awards"):
        assert f'id="chart-{chart}"' in html
    bars = re.findall(r'id="chart-reward_money".*?</svg>', html, re.S)[0]
    decided = [Decimal(v) for v in re.findall(r'data-series="[^"]+" data-value="([^"]+)"',
                                              bars)][0::2]
    assert sum(decided) == sum(row[3] for row in money.rows)
    assert "<script" not in html.split("</head>", 1)[1]


def test_web__reports_page_in_english_formats_money_for_the_locale(login, history):
    client = login("committee_office")
    with client.session_transaction() as session:
        session["lang"] = "en"
    html = client.get(f"/reports?year={YEAR}").get_data(as_text=True)
    assert "Reward money decided and paid" in html
    total = sum((row[3] for row in history.table("reward_money").rows), Decimal(0))
    assert total > 1000
    assert any("," in t for t in _cells(html, "reward_money", "decided"))


def test_web__xlsx_download_holds_the_numbers_of_the_screen(login, history):
    client = login("auditor")
    response = client.get(f"/reports/export.xlsx?year={YEAR}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    money = history.table("reward_money")
    sheet = book[exports.sheet_title(money)]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [Decimal(str(r[3])) for r in rows] == [row[3] for row in money.rows]
    assert [Decimal(str(r[5])) for r in rows] == [row[5] for row in money.rows]
    assert next(sheet.iter_rows(max_row=1, values_only=True))[3] == "核定金额（元）"
    assert exports.sheet_title(history.table("suggestions")) in book.sheetnames
    assert "双百分考核" in book.sheetnames


def test_web__csv_download_of_one_table_and_unknown_table(login, history):
    client = login("committee_member")
    response = client.get(f"/reports/reward_money.csv?year={YEAR}")
    assert response.status_code == 200
    assert response.data.startswith("\ufeff".encode())
    assert response.data == exports.to_csv_bytes(history.table("reward_money"))
    assert client.get(f"/reports/nothing.csv?year={YEAR}").status_code == 404


def test_web__assessment_form_saves_and_shows_the_product(login, engine):
    admin = login("sta_admin")
    response = form_post(admin, "/reports/assessment", {
        "year": "2026", "organisation": "smelting", "party_score": "95.5",
        "operations_score": "90"})
    assert response.status_code == 302
    row = next(r for r in assessment.table(engine.db, year=2026).rows if r[1] == "smelting")
    assert row[4] == Decimal("8595.00")
    html = admin.get("/reports?year=2026").get_data(as_text=True)
    assert "8,595.00" in html


def test_web__assessment_errors_are_shown_by_field(login, engine):
    admin = login("sta_admin")
    response = form_post(admin, "/reports/assessment", {
        "year": "2026", "organisation": "smelting", "party_score": "95.555",
        "operations_score": "101"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="error-party_score"' in html and 'id="error-operations_score"' in html
    assert 'value="95.555"' in html
    assert all(r[2] is None for r in assessment.table(engine.db, year=2026).rows)


def test_web__assessment_form_is_for_admins_only(login):
    office = login("committee_office")
    response = form_post(office, "/reports/assessment", {
        "year": "2026", "organisation": "smelting", "party_score": "90",
        "operations_score": "90"})
    assert response.status_code == 403
    assert 'action="/reports/assessment"' not in office.get("/reports").get_data(as_text=True)
