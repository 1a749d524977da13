"""The stock invariants: every change of a level is a ledger row, in the same transaction.

Levels are locked (SELECT ... FOR UPDATE, in product order so that two transactions never
wait on each other crosswise) before they are read for a decision, so concurrent
allocations cannot oversell; the CHECK constraints on the level tables are the last line.
National-stock functions must run under the national network scope; relais-inventory
functions under the relais (bound) or the national scope.
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
    MovementKind,
    NationalStock,
    RelaisMovementKind,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    SerialUnitEvent,
    StockMovement,
    UnitStatus,
)

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
) -> StockMovement:
    """Apply one movement to the national level and append it to the ledger.

    Refuses (409 naming the product) anything that would leave fewer than zero available,
    reserved below zero, or on hand below reserved.
    """
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
    movement = StockMovement(
        product_id=product.id,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        order_id=order_id,
        relais_id=relais_id,
        actor_id=current_actor_id(),
        reason=reason,
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
) -> None:
    """Move a unit to a new status (and custodian), recording it in its history."""
    previous = unit.status
    unit.status = status
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
