"""The stock invariants: every change of a level is a ledger row, in the same transaction.

Levels are locked (SELECT ... FOR UPDATE, in product order so that two transactions never
wait on each other crosswise) before they are read for a decision, so concurrent
allocations cannot oversell; the CHECK constraints on the level tables are the last line.
National-stock functions must run under the national network scope; relais-inventory
functions under the relais (bound) or the national scope.

National on-hand stock sits at a location: every movement that changes it names one (the
default location when the caller names none), and the location's level moves with it. The
network-wide level counts goods in transit between locations, so transfer movements change
location levels only.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse.models import (
    TRANSFER_KINDS,
    LocationStock,
    MovementKind,
    NationalStock,
    ReasonCode,
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    SerialUnitEvent,
    StockLocation,
    StockMovement,
    UnitStatus,
)

DEFAULT_LOCATION_NAME = "Entrepôt central"
# Statuses of a unit the national stock holds at (or sends to) a location.
LOCATED_STATUSES = frozenset({UnitStatus.IN_STOCK, UnitStatus.RESERVED, UnitStatus.IN_TRANSIT})

# --- locations ------------------------------------------------------------------------


def default_location_id() -> int:
    """The default location, created on first use (a fresh database has stock nowhere yet)."""
    found = db.session.scalar(select(StockLocation.id).where(StockLocation.is_default.is_(True)))
    if found is None:
        db.session.execute(insert(StockLocation)
                           .values(name=DEFAULT_LOCATION_NAME, is_default=True, active=True)
                           .on_conflict_do_nothing())
        found = db.session.scalar(select(StockLocation.id).where(StockLocation.is_default.is_(True)))
    if found is None:
        raise Conflict(_("Aucun emplacement par défaut : désignez-en un."))
    return found


def lock_location_levels(location_id: int, product_ids: Iterable[int]) -> dict[int, LocationStock]:
    """The levels of these products at one location, created at zero, row-locked."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    db.session.execute(
        insert(LocationStock)
        .values([{"location_id": location_id, "product_id": pid} for pid in ids])
        .on_conflict_do_nothing()
    )
    rows = db.session.scalars(
        select(LocationStock)
        .where(LocationStock.location_id == location_id, LocationStock.product_id.in_(ids))
        .order_by(LocationStock.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.product_id: row for row in rows}


# --- national stock -------------------------------------------------------------------


def lock_national_levels(product_ids: Iterable[int]) -> dict[int, NationalStock]:
    """The national levels of these products, created at zero when missing, row-locked."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    db.session.execute(
        insert(NationalStock).values([{"product_id": pid} for pid in ids]).on_conflict_do_nothing()
    )
    rows = db.session.scalars(
        select(NationalStock)
        .where(NationalStock.product_id.in_(ids))
        .order_by(NationalStock.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.product_id: row for row in rows}


def move_national(
    product: Product,
    kind: MovementKind,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    order_id: int | None = None,
    relais_id: int | None = None,
    reason: str | None = None,
    level: NationalStock | None = None,
    location_id: int | None = None,
    reason_code: ReasonCode | None = None,
) -> StockMovement:
    """Apply one movement to the national level (and its location's) and append it to the ledger.

    Refuses (409 naming the product) anything that would leave fewer than zero available,
    reserved below zero, on hand below reserved, or a location below zero.
    """
    if on_hand_delta and location_id is None:
        location_id = default_location_id()
    if kind not in TRANSFER_KINDS:
        level = level or lock_national_levels([product.id])[product.id]
        on_hand = level.on_hand + on_hand_delta
        reserved = level.reserved + reserved_delta
        if reserved < 0 or on_hand < reserved:
            raise Conflict(
                _("Stock national insuffisant pour %(sku)s (%(name)s) : %(available)d disponible(s).",
                  sku=product.sku, name=product.name, available=level.available),
                {"sku": [product.sku]},
            )
        level.on_hand, level.reserved = on_hand, reserved
    if on_hand_delta and location_id is not None:
        spot = lock_location_levels(location_id, [product.id])[product.id]
        if spot.on_hand + on_hand_delta < 0:
            place = db.session.get(StockLocation, location_id)
            raise Conflict(
                _("Stock insuffisant pour %(sku)s (%(name)s) à l'emplacement %(location)s : "
                  "%(on_hand)d en stock.", sku=product.sku, name=product.name,
                  location=place.name if place else location_id, on_hand=spot.on_hand),
                {"sku": [product.sku]},
            )
        spot.on_hand += on_hand_delta
    movement = StockMovement(
        product_id=product.id,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        order_id=order_id,
        relais_id=relais_id,
        actor_id=current_actor_id(),
        reason=reason,
        location_id=location_id if on_hand_delta else None,
        reason_code=reason_code,
    )
    db.session.add(movement)
    return movement


# --- relais inventory -----------------------------------------------------------------


def lock_relais_levels(relais_id: int, product_ids: Iterable[int]) -> dict[int, RelaisStock]:
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    db.session.execute(
        insert(RelaisStock)
        .values([{"relais_id": relais_id, "product_id": pid} for pid in ids])
        .on_conflict_do_nothing()
    )
    rows = db.session.scalars(
        select(RelaisStock)
        .where(RelaisStock.relais_id == relais_id, RelaisStock.product_id.in_(ids))
        .order_by(RelaisStock.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.product_id: row for row in rows}


def move_relais(
    relais_id: int,
    product: Product,
    kind: RelaisMovementKind,
    quantity_delta: int,
    *,
    order_id: int | None = None,
    reference_id: int | None = None,
    reason: str | None = None,
    level: RelaisStock | None = None,
    reason_code: ReasonCode | None = None,
) -> RelaisStockMovement:
    """Apply one movement to a relais' inventory; never below zero (409 naming the product)."""
    level = level or lock_relais_levels(relais_id, [product.id])[product.id]
    if level.on_hand + quantity_delta < 0:
        raise Conflict(
            _("Stock insuffisant pour %(sku)s (%(name)s) : %(on_hand)d en stock.",
              sku=product.sku, name=product.name, on_hand=level.on_hand),
            {"sku": [product.sku]},
        )
    level.on_hand += quantity_delta
    movement = RelaisStockMovement(
        relais_id=relais_id,
        product_id=product.id,
        kind=kind,
        quantity_delta=quantity_delta,
        order_id=order_id,
        reference_id=reference_id,
        actor_id=current_actor_id(),
        reason=reason,
        reason_code=reason_code,
    )
    db.session.add(movement)
    return movement


# --- serialized units -----------------------------------------------------------------


def set_unit_status(
    unit: SerialUnit,
    status: UnitStatus,
    *,
    relais_id: int | None = None,
    order_id: int | None = None,
    note: str | None = None,
    keep_relais: bool = False,
    location_id: int | None = None,
) -> None:
    """Move a unit to a new status (and custodian), recording it in its history.

    A unit the national stock holds is at a location (`location_id`, the default one when
    not given); any other status clears it."""
    previous = unit.status
    unit.status = status
    if status in LOCATED_STATUSES:
        unit.location_id = location_id or default_location_id()
    else:
        unit.location_id = None
    if not keep_relais:
        unit.relais_id = relais_id
    db.session.add(
        SerialUnitEvent(
            unit_id=unit.id,
            from_status=previous,
            to_status=status,
            relais_id=unit.relais_id,
            order_id=order_id,
            actor_id=current_actor_id(),
            note=note,
        )
    )
