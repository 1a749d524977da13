"""Prove the stock levels can be rebuilt from the ledgers; report every drift.

Rules checked (all under the national scope, one aggregate query per rule whatever the size):

1. national level of each product = Σ on_hand_delta and Σ reserved_delta of its
   `stock_movements` (a product never moved must have zero or no level row);
2. each relais' level of each product = Σ quantity_delta of its `relais_stock_movements`;
3. for a serialized product, the units the national warehouse holds (status `in_stock`,
   `reserved` or `in_transit`) are exactly the national on-hand quantity: a receipt or a
   return adds to both, a shipment or a write-off (lost, defective) takes from both, and a
   unit reserved for an order is still on hand;
4. each location's level = Σ on_hand_delta of the movements at that location, and the
   network-wide on-hand quantity = Σ location levels + what is in transit between them
   (transfer movements net to minus the goods in transit; they leave rule 1 out);
5. for a serialized product, the units at each location (`in_stock`, `reserved`) are
   exactly its level there, and the units each relais holds (`at_relais`) exactly its
   level.
6. the monthly distribution summary the dashboards read is the relais ledger's distributions,
   month by month.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Date, and_, cast, func, or_, select

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse.models import (
    TRANSFER_KINDS,
    LocationStock,
    NationalStock,
    RelaisMonthlyDistribution,
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    StockLocation,
    StockMovement,
    UnitStatus,
)
from relais_platform.stock.warehouse.national import LOCATION_UNIT_STATUSES, NATIONAL_UNIT_STATUSES
from relais_platform.tenants.models import Relais


@dataclass(frozen=True)
class Drift:
    where: str  # national stock, a relais, or the serialized units count
    sku: str
    measure: str  # on_hand, reserved, units
    recorded: int
    expected: int

    @property
    def difference(self) -> int:
        return self.recorded - self.expected


def _national_drifts() -> list[Drift]:
    ledger = (
        select(StockMovement.product_id,
               func.sum(StockMovement.on_hand_delta).label("on_hand"),
               func.sum(StockMovement.reserved_delta).label("reserved"))
        .where(StockMovement.kind.not_in(TRANSFER_KINDS))
        .group_by(StockMovement.product_id)
        .subquery()
    )
    on_hand = func.coalesce(NationalStock.on_hand, 0)
    reserved = func.coalesce(NationalStock.reserved, 0)
    expected_on_hand = func.coalesce(ledger.c.on_hand, 0)
    expected_reserved = func.coalesce(ledger.c.reserved, 0)
    rows = db.session.execute(
        select(Product.sku, on_hand, reserved, expected_on_hand, expected_reserved)
        .outerjoin(NationalStock, NationalStock.product_id == Product.id)
        .outerjoin(ledger, ledger.c.product_id == Product.id)
        .where(or_(on_hand != expected_on_hand, reserved != expected_reserved))
        .order_by(Product.sku)
    )
    drifts = []
    for sku, level_on_hand, level_reserved, ledger_on_hand, ledger_reserved in rows:
        if level_on_hand != ledger_on_hand:
            drifts.append(Drift(_("stock national"), sku, "on_hand", level_on_hand, ledger_on_hand))
        if level_reserved != ledger_reserved:
            drifts.append(Drift(_("stock national"), sku, "reserved", level_reserved, ledger_reserved))
    return drifts


def _relais_drifts() -> list[Drift]:
    ledger = (
        select(RelaisStockMovement.relais_id, RelaisStockMovement.product_id,
               func.sum(RelaisStockMovement.quantity_delta).label("on_hand"))
        .group_by(RelaisStockMovement.relais_id, RelaisStockMovement.product_id)
        .subquery()
    )
    levels = select(RelaisStock.relais_id, RelaisStock.product_id, RelaisStock.on_hand).subquery()
    # Either side may be missing: a level with no movement, or movements with no level.
    joined = levels.join(
        ledger,
        and_(levels.c.relais_id == ledger.c.relais_id, levels.c.product_id == ledger.c.product_id),
        full=True,
    )
    relais_id = func.coalesce(levels.c.relais_id, ledger.c.relais_id)
    product_id = func.coalesce(levels.c.product_id, ledger.c.product_id)
    recorded = func.coalesce(levels.c.on_hand, 0)
    expected = func.coalesce(ledger.c.on_hand, 0)
    pairs = (
        select(relais_id.label("relais_id"), product_id.label("product_id"),
               recorded.label("recorded"), expected.label("expected"))
        .select_from(joined)
        .where(recorded != expected)
        .subquery()
    )
    rows = db.session.execute(
        select(Relais.name, Relais.id, Product.sku, pairs.c.recorded, pairs.c.expected)
        .join(Relais, Relais.id == pairs.c.relais_id)
        .join(Product, Product.id == pairs.c.product_id)
        .order_by(Relais.name, Product.sku)
    )
    return [Drift(f"{name} (#{rid})", sku, "on_hand", rec, exp) for name, rid, sku, rec, exp in rows]


def _unit_drifts() -> list[Drift]:
    held = (
        select(SerialUnit.product_id, func.count().label("units"))
        .where(SerialUnit.status.in_(NATIONAL_UNIT_STATUSES))
        .group_by(SerialUnit.product_id)
        .subquery()
    )
    on_hand = func.coalesce(NationalStock.on_hand, 0)
    units = func.coalesce(held.c.units, 0)
    rows = db.session.execute(
        select(Product.sku, units, on_hand)
        .outerjoin(NationalStock, NationalStock.product_id == Product.id)
        .outerjoin(held, held.c.product_id == Product.id)
        .where(Product.serialized.is_(True), units != on_hand)
        .order_by(Product.sku)
    )
    return [Drift(_("unités en stock national"), sku, "units", count, level) for sku, count, level in rows]


def _location_drifts() -> list[Drift]:
    """Rule 4 and the located half of rule 5, one aggregate query each."""
    moved = (
        select(StockMovement.location_id, StockMovement.product_id,
               func.sum(StockMovement.on_hand_delta).label("on_hand"))
        .where(StockMovement.on_hand_delta != 0)
        .group_by(StockMovement.location_id, StockMovement.product_id)
        .subquery()
    )
    held = (
        select(SerialUnit.location_id, SerialUnit.product_id, func.count().label("units"))
        .where(SerialUnit.status.in_(LOCATION_UNIT_STATUSES))
        .group_by(SerialUnit.location_id, SerialUnit.product_id)
        .subquery()
    )
    levels = select(LocationStock.location_id, LocationStock.product_id, LocationStock.on_hand).subquery()
    keys = (
        select(moved.c.location_id, moved.c.product_id)
        .union(select(held.c.location_id, held.c.product_id),
               select(levels.c.location_id, levels.c.product_id))
        .subquery()
    )
    recorded = func.coalesce(levels.c.on_hand, 0)
    expected = func.coalesce(moved.c.on_hand, 0)
    units = func.coalesce(held.c.units, 0)
    rows = db.session.execute(
        select(func.coalesce(StockLocation.name, "?"), Product.sku, Product.serialized, recorded, expected,
               units)
        .select_from(keys)
        .join(Product, Product.id == keys.c.product_id)
        .outerjoin(StockLocation, StockLocation.id == keys.c.location_id)
        .outerjoin(levels, and_(levels.c.location_id.is_not_distinct_from(keys.c.location_id),
                                levels.c.product_id == keys.c.product_id))
        .outerjoin(moved, and_(moved.c.location_id.is_not_distinct_from(keys.c.location_id),
                               moved.c.product_id == keys.c.product_id))
        .outerjoin(held, and_(held.c.location_id.is_not_distinct_from(keys.c.location_id),
                              held.c.product_id == keys.c.product_id))
        .where(or_(recorded != expected, and_(Product.serialized.is_(True), units != recorded)))
        .order_by(StockLocation.name, Product.sku)
    )
    drifts = []
    for name, sku, serialized, level, ledger_on_hand, count in rows:
        where = _("emplacement %(name)s", name=name)
        if level != ledger_on_hand:
            drifts.append(Drift(where, sku, "on_hand", level, ledger_on_hand))
        if serialized and count != level:
            drifts.append(Drift(where, sku, "units", count, level))
    return drifts


def _network_drifts() -> list[Drift]:
    """National on hand = Σ location levels + in transit."""
    at_locations = (
        select(LocationStock.product_id, func.sum(LocationStock.on_hand).label("on_hand"))
        .group_by(LocationStock.product_id).subquery()
    )
    transit = (
        select(StockMovement.product_id, (-func.sum(StockMovement.on_hand_delta)).label("units"))
        .where(StockMovement.kind.in_(TRANSFER_KINDS))
        .group_by(StockMovement.product_id).subquery()
    )
    on_hand = func.coalesce(NationalStock.on_hand, 0)
    located = func.coalesce(at_locations.c.on_hand, 0) + func.coalesce(transit.c.units, 0)
    rows = db.session.execute(
        select(Product.sku, on_hand, located)
        .outerjoin(NationalStock, NationalStock.product_id == Product.id)
        .outerjoin(at_locations, at_locations.c.product_id == Product.id)
        .outerjoin(transit, transit.c.product_id == Product.id)
        .where(on_hand != located)
        .order_by(Product.sku)
    )
    return [Drift(_("emplacements et transit"), sku, "on_hand", level, total) for sku, level, total in rows]


def _relais_unit_drifts() -> list[Drift]:
    held = (
        select(SerialUnit.relais_id, SerialUnit.product_id, func.count().label("units"))
        .where(SerialUnit.status == UnitStatus.AT_RELAIS)
        .group_by(SerialUnit.relais_id, SerialUnit.product_id)
        .subquery()
    )
    levels = (
        select(RelaisStock.relais_id, RelaisStock.product_id, RelaisStock.on_hand)
        .join(Product, and_(Product.id == RelaisStock.product_id, Product.serialized.is_(True)))
        .subquery()
    )
    joined = levels.join(held, and_(levels.c.relais_id == held.c.relais_id,
                                    levels.c.product_id == held.c.product_id), full=True)
    relais_id = func.coalesce(levels.c.relais_id, held.c.relais_id)
    product_id = func.coalesce(levels.c.product_id, held.c.product_id)
    recorded = func.coalesce(held.c.units, 0)
    expected = func.coalesce(levels.c.on_hand, 0)
    pairs = (
        select(relais_id.label("relais_id"), product_id.label("product_id"),
               recorded.label("recorded"), expected.label("expected"))
        .select_from(joined).where(recorded != expected).subquery()
    )
    rows = db.session.execute(
        select(Relais.name, Relais.id, Product.sku, pairs.c.recorded, pairs.c.expected)
        .join(Relais, Relais.id == pairs.c.relais_id)
        .join(Product, Product.id == pairs.c.product_id)
        .order_by(Relais.name, Product.sku)
    )
    return [Drift(f"{name} (#{rid})", sku, "units", rec, exp) for name, rid, sku, rec, exp in rows]


def find_drifts() -> list[Drift]:
    """Every difference between the levels and what the ledgers and units say."""
    return (_national_drifts() + _relais_drifts() + _unit_drifts() + _location_drifts()
            + _network_drifts() + _relais_unit_drifts() + _monthly_drifts())


def format_drifts(drifts: list[Drift]) -> str:
    header = (_("où"), _("produit"), _("mesure"), _("enregistré"), _("selon le registre"), _("écart"))
    rows = [header] + [
        (d.where, d.sku, d.measure, str(d.recorded), str(d.expected), f"{d.difference:+d}")
        for d in drifts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _monthly_drifts() -> list[Drift]:
    """Rule 4: the monthly distribution summary is the relais ledger's distributions, month by
    month (Europe/Paris, as the trigger folds them)."""
    m = RelaisStockMovement
    month = cast(func.date_trunc("month", func.timezone("Europe/Paris", m.occurred_at)), Date)
    ledger = (select(m.relais_id, m.product_id, month.label("month"),
                     (-func.sum(m.quantity_delta)).label("units"))
              .where(m.kind.in_([RelaisMovementKind.DISTRIBUTION, RelaisMovementKind.DISTRIBUTION_CANCELLED]))
              .group_by(m.relais_id, m.product_id, month).subquery())
    s = RelaisMonthlyDistribution.__table__.alias("s")
    joined = ledger.join(s, and_(s.c.relais_id == ledger.c.relais_id, s.c.product_id == ledger.c.product_id,
                                 s.c.month == ledger.c.month), full=True)
    relais_id = func.coalesce(ledger.c.relais_id, s.c.relais_id)
    rows = db.session.execute(
        select(relais_id, Product.sku, func.coalesce(ledger.c.month, s.c.month),
               func.coalesce(s.c.units, 0), func.coalesce(ledger.c.units, 0))
        .select_from(joined)
        .join(Product, Product.id == func.coalesce(ledger.c.product_id, s.c.product_id))
        .where(func.coalesce(s.c.units, 0) != func.coalesce(ledger.c.units, 0))
    )
    return [Drift(_("distributions du mois %(month)s, relais #%(id)d", month=f"{when:%Y-%m}", id=rid), sku,
                  "units", int(recorded), int(expected))
            for rid, sku, when, recorded, expected in rows]
