"""A relais' inventory, read side: quantities on hand, serialized units held, movements.

Runs under the relais' bound scope (its own rows only, by the ORM hook and by row-level
security) or the national scope. Each function issues a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse.models import (
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    UnitStatus,
)


@dataclass(frozen=True)
class InventoryItem:
    product_id: int
    sku: str
    name: str
    serialized: bool
    on_hand: int


@dataclass(frozen=True)
class HeldUnit:
    sku: str
    serial: str
    status: UnitStatus
    received_at: datetime
    warranty_ends_on: date | None


@dataclass(frozen=True)
class Movement:
    occurred_at: datetime
    sku: str
    kind: RelaisMovementKind
    quantity_delta: int
    order_id: int | None
    reason: str | None


def _page(stmt: Select, page: int, per_page: int) -> Select:
    return stmt.limit(per_page).offset((page - 1) * per_page)


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def items(relais_id: int) -> list[InventoryItem]:
    """On hand per product (one row per product ever held: bounded by the catalogue)."""
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name, Product.serialized, RelaisStock.on_hand)
        .join(Product, Product.id == RelaisStock.product_id)
        .where(RelaisStock.relais_id == relais_id)
        .order_by(Product.sku)
    )
    return [InventoryItem(*row) for row in rows]


def _held(relais_id: int, sku: str | None = None) -> Select:
    """Serialized units at the relais: received, not yet distributed."""
    stmt = (
        select(Product.sku, SerialUnit.serial, SerialUnit.status, SerialUnit.received_at,
               SerialUnit.warranty_ends_on)
        .join(Product, Product.id == SerialUnit.product_id)
        # Explicit even though row-level security already hides other relais' units.
        .where(SerialUnit.relais_id == relais_id, SerialUnit.status == UnitStatus.AT_RELAIS)
    )
    if sku:
        stmt = stmt.where(Product.sku == sku.strip().upper())
    return stmt


def units(
    relais_id: int, page: int, per_page: int, *, sku: str | None = None
) -> tuple[list[HeldUnit], int]:
    """Serialized units at the relais, one page and the total."""
    stmt = _held(relais_id, sku)
    rows = db.session.execute(_page(stmt.order_by(Product.sku, SerialUnit.serial), page, per_page))
    return [HeldUnit(*row) for row in rows], _count(stmt)


def units_by_sku(relais_id: int) -> dict[str, list[HeldUnit]]:
    """Every serialized unit at the relais, per product (one query; what a relais holds, not
    what it ever received: distributed units have left)."""
    found: dict[str, list[HeldUnit]] = {}
    for row in db.session.execute(_held(relais_id).order_by(Product.sku, SerialUnit.serial)):
        unit = HeldUnit(*row)
        found.setdefault(unit.sku, []).append(unit)
    return found


def movements(
    relais_id: int, page: int, per_page: int, *, sku: str | None = None
) -> tuple[list[Movement], int]:
    """The relais' ledger, newest first."""
    stmt = (
        select(RelaisStockMovement.occurred_at, Product.sku, RelaisStockMovement.kind,
               RelaisStockMovement.quantity_delta, RelaisStockMovement.order_id,
               RelaisStockMovement.reason)
        .join(Product, Product.id == RelaisStockMovement.product_id)
        .where(RelaisStockMovement.relais_id == relais_id)
    )
    if sku:
        stmt = stmt.where(Product.sku == sku.strip().upper())
    ordered = stmt.order_by(RelaisStockMovement.occurred_at.desc(), RelaisStockMovement.id.desc())
    rows = db.session.execute(_page(ordered, page, per_page))
    return [Movement(*row) for row in rows], _count(stmt)
