"""The delivery note (bon de livraison): lines shipped and their serials, as HTML then PDF
(WeasyPrint, imported on first use: it is slow to load)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from relais_platform.domain import Conflict
from relais_platform.orm import utcnow
from relais_platform.stock.orders.models import Order
from relais_platform.stock.orders.services import shipped_units, status_label


def filename(order: Order) -> str:
    return f"bon-de-livraison-{order.id}.pdf"


def render_html(order: Order) -> str:
    if order.shipped_at is None:
        raise Conflict(_("La commande n° %(id)d est %(status)s : elle n'a pas de bon de livraison.",
                         id=order.id, status=status_label(order.status)))
    units = shipped_units(order)
    lines = [(line, [unit.serial for unit in units[line.id]]) for line in order.lines if line.shipped]
    return render_template("stock/delivery_note.html", order=order, lines=lines, printed_at=utcnow())


def render_pdf(order: Order) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(order)).write_pdf()


def attachment(order: Order) -> tuple[str, str, bytes]:
    """(file name, MIME type, content) of the delivery note, for the shipment e-mail."""
    return filename(order), "application/pdf", render_pdf(order)
