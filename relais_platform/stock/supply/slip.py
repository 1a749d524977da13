"""The supplier return slip (bon de retour): the units sent back, as HTML then PDF
(WeasyPrint, imported on first use: it is slow to load)."""

from __future__ import annotations

from flask import render_template

from relais_platform.orm import utcnow
from relais_platform.stock.supply import services as supply
from relais_platform.stock.supply.models import SupplierReturn


def filename(batch: SupplierReturn) -> str:
    return f"bon-de-retour-{batch.id}.pdf"


def render_html(batch: SupplierReturn) -> str:
    units = supply.return_units(batch)
    lines = [units[line.unit_id] for line in batch.lines]
    return render_template("supply/slip.html", batch=batch, units=lines, printed_at=utcnow())


def render_pdf(batch: SupplierReturn) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(batch)).write_pdf()
