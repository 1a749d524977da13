"""Transfers between national locations: shipped at one end, received at the other.

Shipping takes the goods off the departure location (`transfer_out`); until they are
received (`transfer_in` at the arrival) they are in transit: still counted in the
network-wide on-hand stock, at no location. Serialized units travel `in_transit`.
Runs under the national scope; flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.locations.models import Transfer, TransferLine, TransferStatus
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import ledger, locations
from relais_platform.stock.warehouse.models import MovementKind, SerialUnit, UnitStatus
from relais_platform.stock.warehouse.national import lock_units
from relais_platform.stock.warehouse.serials import split_serials

MAX_QUANTITY = 1_000_000


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    wanted = sorted({sku for sku in skus if sku})
    return {p.sku: p for p in db.session.scalars(select(Product).where(Product.sku.in_(wanted)))}


def parse_lines(lines: Iterable[Mapping[str, Any]]) -> list[tuple[Product, int | None, list[str] | None]]:
    """(product, quantity, serials) per line; every unknown or repeated sku named in one 422."""
    specs = [(str(spec.get("sku") or "").strip().upper(), spec) for spec in lines]
    products = products_by_sku(sku for sku, _spec in specs)
    errors: dict[str, list[str]] = {}
    parsed: list[tuple[Product, int | None, list[str] | None]] = []
    seen: set[str] = set()
    for sku, spec in specs:
        product = products.get(sku)
        quantity, serials = spec.get("quantity"), split_serials(spec.get("serials") or ())
        if product is None:
            errors[sku or "sku"] = [_("Référence inconnue : %(sku)s.", sku=sku)]
        elif sku in seen:
            errors[sku] = [_("Le produit %(sku)s apparaît plusieurs fois.", sku=sku)]
        elif serials and not product.serialized:
            errors[sku] = [_("Le produit %(sku)s (%(name)s) n'a pas de numéro de série.", sku=sku,
                             name=product.name)]
        elif not serials and (isinstance(quantity, bool) or not isinstance(quantity, int)
                              or not 0 < quantity <= MAX_QUANTITY):
            errors[sku] = [_("Indiquez une quantité entre 1 et %(max)d pour %(sku)s.", max=MAX_QUANTITY,
                             sku=sku)]
        elif serials and quantity is not None and quantity != len(serials):
            errors[sku] = [_("%(count)d numéro(s) donnés pour %(sku)s, %(quantity)d annoncé(s).",
                             count=len(serials), sku=sku, quantity=quantity)]
        else:
            seen.add(sku)
            parsed.append((product, quantity, serials or None))
    if not specs:
        errors["lines"] = [_("Indiquez au moins une ligne.")]
    if errors:
        raise ValidationFailed(errors)
    return parsed


def pick_units(product: Product, location_id: int, serials: list[str] | None, quantity: int | None,
               errors: dict[str, list[str]]) -> list[SerialUnit]:
    """The units leaving a location: the serials given, or the oldest ones there."""
    if serials:
        units = lock_units(product, serials, {UnitStatus.IN_STOCK}, field=product.sku)
        if elsewhere := sorted(unit.serial for unit in units if unit.location_id != location_id):
            errors[product.sku] = [_("Numéros qui ne sont pas à l'emplacement de départ pour %(sku)s : "
                                     "%(serials)s.", sku=product.sku, serials=", ".join(elsewhere))]
        return units
    assert quantity is not None
    units = list(db.session.scalars(
        select(SerialUnit)
        .where(SerialUnit.product_id == product.id, SerialUnit.status == UnitStatus.IN_STOCK,
               SerialUnit.location_id == location_id)
        .order_by(SerialUnit.received_at, SerialUnit.id)
        .limit(quantity)
        .with_for_update(skip_locked=True)
    ))
    if len(units) < quantity:
        errors[product.sku] = [_("Seulement %(found)d unité(s) de %(sku)s (%(name)s) à l'emplacement de "
                                 "départ pour %(quantity)d demandée(s).", found=len(units), sku=product.sku,
                                 name=product.name, quantity=quantity)]
    return units


def ship(from_location_id: Any, to_location_id: Any, lines: Iterable[Mapping[str, Any]]) -> Transfer:
    """Send goods from one location to another; they are in transit until received."""
    national_scope(_("transfert entre emplacements"))
    errors: dict[str, list[str]] = {}
    origin = destination = None
    try:
        origin = locations.get(from_location_id, field="from_location_id")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        destination = locations.get(to_location_id, field="to_location_id")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if origin is not None and destination is not None and origin.id == destination.id:
        errors["to_location_id"] = [_("Choisissez un emplacement d'arrivée différent du départ.")]
    try:
        parsed = parse_lines(lines)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        parsed = []
    if errors or origin is None or destination is None:
        raise ValidationFailed(errors)
    transfer = Transfer(from_location_id=origin.id, to_location_id=destination.id,
                        status=TransferStatus.SHIPPED, created_by_id=current_actor_id())
    db.session.add(transfer)
    db.session.flush()
    ledger.lock_location_levels(origin.id, (product.id for product, _q, _s in parsed))
    note = _("Transfert n° %(id)d : %(origin)s → %(destination)s", id=transfer.id, origin=origin.name,
             destination=destination.name)
    moving: list[tuple[Product, int, list[SerialUnit]]] = []
    for product, quantity, serials in parsed:
        units = pick_units(product, origin.id, serials, quantity, errors) if product.serialized else []
        moving.append((product, len(units) if product.serialized else quantity or 0, units))
    if errors:
        raise ValidationFailed(errors)
    for product, quantity, units in sorted(moving, key=lambda item: item[0].id):
        ledger.move_national(product, MovementKind.TRANSFER_OUT, on_hand_delta=-quantity,
                             location_id=origin.id, reason=note)
        for unit in units:
            ledger.set_unit_status(unit, UnitStatus.IN_TRANSIT, location_id=destination.id, note=note)
        transfer.lines.append(TransferLine(product_id=product.id, quantity=quantity,
                                           serials=[unit.serial for unit in units]))
    db.session.flush()
    return transfer


def get(transfer_id: int, *, lock: bool = False) -> Transfer:
    stmt = select(Transfer).where(Transfer.id == transfer_id).options(selectinload(Transfer.lines))
    if lock:
        stmt = stmt.with_for_update(of=Transfer).execution_options(populate_existing=True)
    transfer = db.session.scalar(stmt)
    if transfer is None:
        raise NotFound(_("Transfert introuvable."))
    return transfer


def receive(transfer_id: int) -> Transfer:
    """The goods of a transfer arrive: its destination's levels and units take them in."""
    national_scope(_("réception d'un transfert"))
    transfer = get(transfer_id, lock=True)
    if transfer.status != TransferStatus.SHIPPED:
        raise Conflict(_("Le transfert n° %(id)d est déjà reçu.", id=transfer.id))
    note = _("Réception du transfert n° %(id)d", id=transfer.id)
    for line in sorted(transfer.lines, key=lambda item: item.product_id):
        ledger.move_national(line.product, MovementKind.TRANSFER_IN, on_hand_delta=line.quantity,
                             location_id=transfer.to_location_id, reason=note)
        if line.serials:
            for unit in lock_units(line.product, line.serials, {UnitStatus.IN_TRANSIT}):
                ledger.set_unit_status(unit, UnitStatus.IN_STOCK, location_id=transfer.to_location_id,
                                       note=note)
    transfer.status = TransferStatus.RECEIVED
    transfer.received_at = utcnow()
    transfer.received_by_id = current_actor_id()
    return transfer


def query(page: int, per_page: int, *, status: TransferStatus | None = None) -> tuple[list[Transfer], int]:
    stmt = select(Transfer)
    if status is not None:
        stmt = stmt.where(Transfer.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.options(selectinload(Transfer.lines))
                              .order_by(Transfer.created_at.desc(), Transfer.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total
