"""National stock locations: the central warehouse and regional hubs.

National tables (written under the '*' scope only); the default location is created on
first use by `ledger.default_location_id`.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import LocationStock, StockLocation, StockMovement

MAX_NAME = 120


def all_locations() -> list[StockLocation]:
    """Every location, the default first (created if the network has none yet)."""
    ledger.default_location_id()
    return list(db.session.scalars(
        select(StockLocation).order_by(StockLocation.is_default.desc(), StockLocation.name)))


def create(name: str | None, *, is_default: bool = False) -> StockLocation:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed.field("name", _("Indiquez un nom (%(max)d caractères au plus).", max=MAX_NAME))
    if db.session.scalar(select(StockLocation.id).where(func.lower(StockLocation.name) == name.lower())):
        raise ValidationFailed.field("name", _("Un emplacement porte déjà ce nom."))
    ledger.default_location_id()
    if is_default:
        current = db.session.scalar(select(StockLocation).where(StockLocation.is_default.is_(True)))
        if current is not None:
            current.is_default = False
            db.session.flush()
    location = StockLocation(name=name, is_default=is_default, active=True)
    db.session.add(location)
    db.session.flush()
    return location


def get(location_id: int | None, *, field: str = "location_id") -> StockLocation:
    """An active location by id (422 on the field naming it when unknown)."""
    location = db.session.get(StockLocation, location_id) if isinstance(location_id, int) else None
    if location is None or not location.active:
        raise ValidationFailed.field(field, _("Emplacement inconnu."))
    return location


def find(location_id: int) -> StockLocation:
    """A location addressed by the URL: 404 when unknown."""
    location = db.session.get(StockLocation, location_id)
    if location is None:
        raise NotFound(_("Emplacement introuvable."))
    return location


def resolve(location_id: int | None, *, field: str = "location_id") -> int:
    """The location named, or the default one when none is."""
    return ledger.default_location_id() if location_id is None else get(location_id, field=field).id



def stock_at(location_id: int) -> list[tuple[int, str, str, bool, int]]:
    """(product id, sku, name, serialized, on hand) of every product held at a location."""
    return [tuple(row) for row in db.session.execute(
        select(Product.id, Product.sku, Product.name, Product.serialized, LocationStock.on_hand)
        .join(LocationStock, LocationStock.product_id == Product.id)
        .where(LocationStock.location_id == location_id, LocationStock.on_hand != 0)
        .order_by(Product.sku))]


def movements_at(location_id: int, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """The ledger of one location, most recent first."""
    stmt = (select(StockMovement.occurred_at, Product.sku, StockMovement.kind, StockMovement.on_hand_delta,
                   StockMovement.order_id, StockMovement.reason, StockMovement.reason_code)
            .join(Product, Product.id == StockMovement.product_id)
            .where(StockMovement.location_id == location_id))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(StockMovement.occurred_at.desc(), StockMovement.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return [dict(row._mapping) for row in rows], total
