"""Pick lists: what to take from which location, with serial suggestions, before shipping.

For each line still to ship, the suggested location is the default one when it holds
enough, else the one holding most; the serials suggested are the oldest units there (the
ones a shipment would pick by itself). Printed as HTML or PDF (WeasyPrint)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from flask import render_template
from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.orders.models import Order
from relais_platform.stock.warehouse.models import LocationStock, SerialUnit, StockLocation, UnitStatus

MAX_ORDERS = 100


def pick_list(orders: Sequence[Order]) -> list[dict[str, Any]]:
    """One entry per order: its lines still to ship, where to take them, which serials."""
    todo = [(order, line) for order in orders for line in order.lines if line.allocated > line.shipped]
    product_ids = sorted({line.product_id for _order, line in todo})
    spots: dict[int, list[tuple[int, str, bool, int]]] = defaultdict(list)
    if product_ids:
        for product_id, location_id, name, is_default, on_hand in db.session.execute(
            select(LocationStock.product_id, StockLocation.id, StockLocation.name, StockLocation.is_default,
                   LocationStock.on_hand)
            .join(StockLocation, StockLocation.id == LocationStock.location_id)
            .where(LocationStock.product_id.in_(product_ids), LocationStock.on_hand > 0)
            .order_by(StockLocation.is_default.desc(), LocationStock.on_hand.desc(), StockLocation.name)
        ):
            spots[product_id].append((location_id, name, is_default, on_hand))
    entries: dict[int, dict[str, Any]] = {}
    for order, line in todo:
        quantity = line.allocated - line.shipped
        places = spots.get(line.product_id, [])
        chosen = next((p for p in places if p[3] >= quantity), None) or \
            max(places, key=lambda p: p[3], default=None)
        serials: list[str] = []
        if chosen is not None and line.product.serialized:
            serials = list(db.session.scalars(
                select(SerialUnit.serial)
                .where(SerialUnit.product_id == line.product_id, SerialUnit.status == UnitStatus.IN_STOCK,
                       SerialUnit.location_id == chosen[0])
                .order_by(SerialUnit.received_at, SerialUnit.id).limit(quantity)))
        entry = entries.setdefault(order.id, {"order_id": order.id, "relais": order.relais.name,
                                               "status": order.status.value, "lines": []})
        entry["lines"].append({
            "sku": line.product.sku, "name": line.product.name, "quantity": quantity,
            "location_id": chosen[0] if chosen else None, "location": chosen[1] if chosen else None,
            "available_here": chosen[3] if chosen else 0, "serials": serials,
            "other_locations": [{"location_id": p[0], "name": p[1], "on_hand": p[3]}
                                for p in places if chosen is None or p[0] != chosen[0]],
        })
    return [entries.get(order.id) or {"order_id": order.id, "relais": order.relais.name,
                                      "status": order.status.value, "lines": []} for order in orders]


def render_html(entries: list[dict[str, Any]]) -> str:
    return render_template("stock/pick_list.html", entries=entries, printed_at=utcnow())


def render_pdf(entries: list[dict[str, Any]]) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(entries)).write_pdf()
