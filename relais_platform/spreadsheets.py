"""The one way the platform writes CSV files, and the cell guard XLSX files share.

A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula; any text in an export may come from a public form (a relais name typed in the
application form), so every text cell is neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as a `;`-separated CSV, every cell guarded, with a BOM so that spreadsheet software
    reads the accents right."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(sheets: Iterable[tuple[str, Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook of (title, rows) sheets, every cell guarded (openpyxl, imported when used)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        value = safe_cell(value)
        # Control characters a worksheet cannot hold are dropped.
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title[:31])  # Excel's limit for a sheet name
        for row in rows:
            sheet.append([cell(value) for value in row])
        sheet.column_dimensions["A"].width = 58
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
