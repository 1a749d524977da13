"""Reading an uploaded table (CSV in UTF-8 with `;` or `,`, with or without BOM, or XLSX).

Streamed: the CSV module reads a text stream, openpyxl reads XLSX in `read_only` mode, so a
200,000-row file is never held as rows in memory. Problems of the whole file (not a table,
empty, wrong header) raise `TableError`; problems of one row (too many cells, a cell too long,
a formula) come with the row, so that the check reports every one of them.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

MAX_CELL_CHARS = 10_000
MAX_HEADER_COLUMNS = 100
_XLSX_MAGIC = b"PK\x03\x04"
# Word, old Excel, PDF, images: clearly not a table of text.
_BINARY_MAGICS = (b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
_SAMPLE = 64 * 1024
# A cell longer than MAX_CELL_CHARS is reported with its column, which needs the CSV module to
# read it first (its own limit, 128 KiB, would stop the reading of the whole file).
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


class TableError(Exception):
    """The file as a whole cannot be read as the expected table."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    values: dict[str, str]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, message)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def header_key(text: str) -> str:
    """A header cell as compared: trimmed, lower case, without accents or BOM."""
    text = unicodedata.normalize("NFKD", text.replace("\ufeff", "").strip().lower())
    return "".join(c for c in text if not unicodedata.combining(c)).replace(" ", "_")


def detect_format(data: bytes) -> str:
    """'xlsx' or 'csv'; TableError for an empty or binary file."""
    if not data.strip(b"\xef\xbb\xbf \r\n\t;,"):
        raise TableError(_("Le fichier est vide."))
    if data.startswith(_XLSX_MAGIC):
        return "xlsx"
    sample = data[:_SAMPLE]
    if sample.startswith(_BINARY_MAGICS) or b"\x00" in sample:
        raise TableError(_("Format non reconnu : envoyez un fichier CSV (UTF-8) ou XLSX."))
    try:
        # The sample may end inside a multi-byte character: ignore at most its last 3 bytes.
        sample.decode("utf-8") if len(data) <= _SAMPLE else sample[:-3].decode("utf-8", "strict")
    except UnicodeDecodeError as exc:
        raise TableError(_(
            "Le fichier CSV doit être encodé en UTF-8 (enregistrez-le en « CSV UTF-8 »).")) from exc
    return "csv"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    first = stream.readline()
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    stream.seek(0)
    yield from csv.reader(stream, delimiter=delimiter)


def _xlsx_lines(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError(_("Ce fichier n'est pas un classeur XLSX lisible.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for cells in sheet.iter_rows(values_only=True):
            yield [_cell_text(value) for value in cells]
    finally:
        workbook.close()


def _lines(data: bytes, fmt: str) -> Iterator[list[str]]:
    return _xlsx_lines(data) if fmt == "xlsx" else _csv_lines(data)


@dataclass
class Table:
    """An opened table: its header (as keys) and its data rows, read lazily."""

    header: list[str]
    _lines: Iterator[list[str]]

    def rows(self) -> Iterator[Row]:
        width = len(self.header)
        number = 1
        try:
            for cells in self._lines:
                number += 1
                while cells and not cells[-1].strip():
                    cells.pop()
                if not cells:
                    continue
                row = Row(number, {})
                if len(cells) > width:
                    row.problems.append(("", _(
                        "La ligne compte %(count)d colonnes, l'en-tête en a %(width)d.",
                        count=len(cells), width=width)))
                for name, raw in zip(self.header, cells, strict=False):
                    value = raw.strip()
                    if len(value) > MAX_CELL_CHARS:
                        row.problems.append((name, _(
                            "Cellule trop longue (%(count)d caractères, au plus %(max)d).",
                            count=len(value), max=MAX_CELL_CHARS)))
                        value = ""
                    elif value.startswith("="):
                        row.problems.append((name, _(
                            "Formule refusée : saisissez la valeur elle-même, pas une formule.")))
                        value = ""
                    row.values[name] = value
                yield row
        except csv.Error as exc:
            # The CSV module cannot resynchronise after this: the rest is not read.
            yield Row(number + 1, {}, [("", _(
                "Lecture impossible à partir de cette ligne (cellule trop longue ou guillemet "
                "non fermé) : %(error)s", error=str(exc)))])
        except UnicodeDecodeError:
            yield Row(number + 1, {}, [("", _(
                "Le fichier CSV doit être encodé en UTF-8 (enregistrez-le en « CSV UTF-8 »)."))])


def open_table(
    data: bytes,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    screen: Callable[[list[str]], str | None] | None = None,
) -> Table:
    """Open the table and check its header against the expected columns (any order).

    `screen` sees the header cells first and may refuse the whole file with its message
    (a column that must never be imported, whatever else is wrong).
    """
    fmt = detect_format(data)
    lines = _lines(data, fmt)
    try:
        header_cells = next(lines, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise TableError(_("Format non reconnu : envoyez un fichier CSV (UTF-8) ou XLSX.")) from exc
    while header_cells is not None and not any(cell.strip() for cell in header_cells):
        header_cells = next(lines, None)
    if header_cells is None:
        raise TableError(_("Le fichier est vide."))
    while header_cells and not header_cells[-1].strip():
        header_cells.pop()
    if len(header_cells) > MAX_HEADER_COLUMNS:
        raise TableError(_("L'en-tête compte %(count)d colonnes : au plus %(max)d.",
                           count=len(header_cells), max=MAX_HEADER_COLUMNS))
    if screen is not None and (refusal := screen([cell.strip() for cell in header_cells])):
        raise TableError(refusal)
    header = [header_key(cell) for cell in header_cells]
    expected = list(required) + list(optional)
    missing = [name for name in required if name not in header]
    unknown = [cell.strip() for cell, key in zip(header_cells, header, strict=True)
               if key not in expected]
    repeated = sorted({key for key in header if header.count(key) > 1})
    if missing or unknown or repeated:
        parts = [_("L'en-tête ne correspond pas au modèle (colonnes attendues : %(columns)s).",
                   columns=", ".join(expected))]
        if missing:
            parts.append(_("Colonnes manquantes : %(columns)s.", columns=", ".join(missing)))
        if unknown:
            parts.append(_("Colonnes inconnues : %(columns)s.", columns=", ".join(unknown)))
        if repeated:
            parts.append(_("Colonnes en double : %(columns)s.", columns=", ".join(repeated)))
        raise TableError(" ".join(parts))
    return Table(header, lines)
