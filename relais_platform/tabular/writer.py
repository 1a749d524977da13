"""Writing tables: CSV streamed line by line, XLSX through openpyxl's write-only workbook.

Every text cell that a spreadsheet would read as a formula (leading =, +, -, @, tab or
carriage return) is neutralised with a leading apostrophe, in both formats.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 64 * 1024


def safe_text(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet; numbers and dates stay as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, int | float | Decimal | date | datetime):
        return value
    if isinstance(value, list | tuple):
        value = ", ".join(str(safe_text(item)) for item in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_value(value: Any) -> Any:
    value = safe_text(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The table as CSV text (BOM, `;`: what French spreadsheets open directly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")
    writer.writerow([safe_text(name) for name in header])
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        if buffer.tell() > _CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    value = safe_text(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones
    if isinstance(value, str):
        # Control characters a worksheet cannot hold (typed text can carry them) are dropped.
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "Export"
) -> Iterator[bytes]:
    """The table as an XLSX workbook, written row by row to a temporary file, then streamed."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Export")
    sheet.append([safe_text(name) for name in header])
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(_CHUNK):
            yield chunk


def table_bytes(
    fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "Export"
) -> bytes:
    """A small table as one document (templates, tests)."""
    if fmt == "csv":
        return "".join(csv_chunks(header, rows)).encode("utf-8")
    return b"".join(xlsx_chunks(header, rows, title))
