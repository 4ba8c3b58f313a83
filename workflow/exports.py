"""Report tables as XLSX (one sheet per table) and CSV, with Chinese (or English) headers.

The cells hold the report's own values: counts as integers, money as numbers shown with
two decimals, hours and percents as numbers, dates as dates. CSV is UTF-8 with a byte order
mark, so spreadsheet programs read the Chinese headers correctly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from .money import format_money
from .reports import Report, Table

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
FORMATS = {"money": "#,##0.00", "hours": "0.0", "percent": "0.0", "score": "0.00"}


def sheet_title(table: Table, language: str = "zh") -> str:
    title = table.zh if language == "zh" else table.en
    return _SHEET_FORBIDDEN.sub("_", title)[:31]


def headers(table: Table, language: str = "zh") -> list[str]:
    return [c.zh if language == "zh" else c.en for c in table.columns]


def to_xlsx(tables: Report | Iterable[Table], *, language: str = "zh") -> bytes:
    """An XLSX workbook with one sheet per table: headers in row 1, values below."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables.tables if isinstance(tables, Report) else tables:
        sheet = workbook.create_sheet(sheet_title(table, language))
        sheet.append(headers(table, language))
        for row in table.rows:
            sheet.append(list(row))
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(10, 2 * len(headers(table, language)
                                                                    [index - 1]) + 2)
            if column.kind in FORMATS:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = FORMATS[column.kind]
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(table: Table, *, language: str = "zh") -> str:
    """One table as CSV text: headers, then rows; money with exactly two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(table, language))
    for row in table.rows:
        writer.writerow([_text(value, column.kind) for value, column in zip(row, table.columns,
                                                                             strict=True)])
    return out.getvalue()


def to_csv_bytes(table: Table, *, language: str = "zh") -> bytes:
    """CSV as UTF-8 with a byte order mark (what spreadsheet programs expect)."""
    return to_csv(table, language=language).encode("utf-8-sig")


def _text(value: object, kind: str) -> str:
    if isinstance(value, Decimal):
        return format_money(value) if kind == "money" else str(value)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
