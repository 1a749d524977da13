"""Partial shipments: an allocated order leaves in one parcel or several, each from one
national location, with a carrier and tracking number; the relais confirms each parcel.

What is not shipped stays allocated (reserved). The order becomes `shipped` once every
allocated unit has left, and `received` (or `partially_received` when goods were refused)
once every parcel has been confirmed. The single-shipment route ships what remains in one
parcel from the default location (`shipping.ship`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.orders import delivery_note, notifications
from relais_platform.stock.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from relais_platform.stock.orders.services import lock_orders, reader_scope, status_label, transition
from relais_platform.stock.orders.shipping import (
    by_sku,
    count_or_none,
    is_shippable,
    normalize_serials,
    pick_units,
    repeated_serials,
)
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import ledger, locations
from relais_platform.stock.warehouse.models import MovementKind, RelaisMovementKind, SerialUnit, UnitStatus

MAX_TEXT = 100


def _text(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text[:MAX_TEXT] or None


def ship_part(order: Order, location_id: Any, lines: Iterable[Mapping[str, Any]], *,
              carrier: Any = None, tracking_number: Any = None) -> Shipment:
    """Send part (or all) of what remains to ship of an allocated order, from one location."""
    national_scope(_("expédition d'un colis"))
    order = lock_orders([order.id])[0]
    if not is_shippable(order):
        raise Conflict(_("La commande n° %(id)d est %(status)s : elle ne peut pas être expédiée.",
                         id=order.id, status=status_label(order.status)))
    location = locations.get(location_id)
    given, order_lines = by_sku(order, lines)
    errors: dict[str, list[str]] = {}
    plan: list[tuple[OrderLine, int, list[str]]] = []
    for sku, spec in given.items():
        line = order_lines[sku]
        serials = normalize_serials(spec.get("serials"))
        given_quantity = spec.get("quantity")
        quantity = count_or_none(len(serials) if given_quantity is None and serials else given_quantity)
        remaining = line.allocated - line.shipped
        if serials and not line.product.serialized:
            errors[sku] = [_("Le produit %(sku)s (%(name)s) n'a pas de numéro de série.", sku=sku,
                             name=line.product.name)]
        elif quantity is None or not 0 < quantity <= remaining:
            errors[sku] = [_("Expédiez entre 1 et %(remaining)d unité(s) de %(sku)s (%(name)s).",
                             remaining=remaining, sku=sku, name=line.product.name)]
        else:
            plan.append((line, quantity, serials))
    if not given:
        errors["lines"] = [_("Indiquez au moins une ligne.")]
    if errors:
        raise ValidationFailed(errors)
    levels = ledger.lock_national_levels(line.product_id for line, _q, _s in plan)
    picked: list[tuple[OrderLine, int, list[SerialUnit]]] = []
    for line, quantity, serials in sorted(plan, key=lambda item: item[0].product_id):
        units: list[SerialUnit] = []
        if line.product.serialized:
            units, problems = pick_units(line, serials, quantity, location.id)
            if problems:
                errors[line.product.sku] = problems
        picked.append((line, quantity, units))
    if errors:
        raise ValidationFailed(errors)
    shipment = Shipment(relais_id=order.relais_id, order_id=order.id, location_id=location.id,
                        carrier=_text(carrier), tracking_number=_text(tracking_number),
                        status=ShipmentStatus.SHIPPED, shipped_by_id=current_actor_id())
    db.session.add(shipment)
    db.session.flush()
    for line, quantity, units in picked:
        ledger.move_national(
            line.product, MovementKind.SHIPMENT, on_hand_delta=-quantity, reserved_delta=-quantity,
            order_id=order.id, relais_id=order.relais_id, location_id=location.id,
            reason=_("Colis n° %(shipment)d de la commande n° %(id)d", shipment=shipment.id, id=order.id),
            level=levels[line.product_id],
        )
        line.shipped += quantity
        for unit in units:
            ledger.set_unit_status(unit, UnitStatus.SHIPPED, relais_id=order.relais_id, order_id=order.id)
            unit.order_line_id = line.id
        shipment.lines.append(ShipmentLine(relais_id=order.relais_id, order_line_id=line.id,
                                           quantity=quantity, serials=[unit.serial for unit in units]))
    db.session.flush()
    if all(line.shipped == line.allocated for line in order.lines):
        transition(order, OrderStatus.SHIPPED)
        notifications.order_shipped(order, partial(delivery_note.attachment, order))
    return shipment


def shipments_of(order: Order) -> list[Shipment]:
    return list(db.session.scalars(
        select(Shipment).where(Shipment.order_id == order.id).options(selectinload(Shipment.lines))
        .order_by(Shipment.id)))


def receive_part(order: Order, shipment_id: int, lines: Iterable[Mapping[str, Any]]) -> Shipment:
    """The relais confirms one parcel line by line: received + refused = what the parcel held,
    serials checked against the parcel; refusals need a reason."""
    reader_scope(_("réception d'un colis"))
    order = lock_orders([order.id])[0]
    shipment = db.session.scalar(
        select(Shipment).where(Shipment.id == shipment_id, Shipment.order_id == order.id)
        .options(selectinload(Shipment.lines)).with_for_update(of=Shipment))
    if shipment is None:
        raise NotFound(_("Colis introuvable."))
    if shipment.status != ShipmentStatus.SHIPPED:
        raise Conflict(_("Le colis n° %(id)d est déjà réceptionné.", id=shipment.id))
    given, _lines = by_sku(order, lines)
    errors: dict[str, list[str]] = {}
    plan: list[tuple[ShipmentLine, int, int, str | None, list[SerialUnit], list[SerialUnit]]] = []
    for parcel_line in shipment.lines:
        line = parcel_line.order_line
        sku, name = line.product.sku, line.product.name
        spec = given.get(sku)
        if spec is None:
            errors[sku] = [_("Indiquez la réception de %(sku)s (%(name)s).", sku=sku, name=name)]
            continue
        received, refused = count_or_none(spec.get("received")), count_or_none(spec.get("refused", 0) or 0)
        reason = (spec.get("refusal_reason") or "").strip() or None
        serials = normalize_serials(spec.get("serials"))
        problems = []
        if received is None or refused is None or received + refused != parcel_line.quantity:
            problems.append(_("Pour %(sku)s (%(name)s), reçu + refusé doit égaler la quantité du colis "
                              "(%(quantity)d).", sku=sku, name=name, quantity=parcel_line.quantity))
        if refused and not reason:
            problems.append(_("Indiquez le motif du refus de %(sku)s (%(name)s).", sku=sku, name=name))
        units = {unit.serial: unit for unit in db.session.scalars(
            select(SerialUnit).where(SerialUnit.product_id == line.product_id,
                                     SerialUnit.serial.in_(parcel_line.serials or []),
                                     SerialUnit.status == UnitStatus.SHIPPED)
            .order_by(SerialUnit.id).with_for_update())} if parcel_line.serials else {}
        taken: list[SerialUnit] = []
        if line.product.serialized and (serials or refused):
            if duplicates := repeated_serials(serials):
                problems.append(_("Numéros en double pour %(sku)s : %(serials)s.", sku=sku,
                                  serials=", ".join(duplicates)))
            if unknown := sorted(set(serials) - units.keys()):
                problems.append(_("Numéros qui ne figurent pas dans le colis pour %(sku)s : %(serials)s.",
                                  sku=sku, serials=", ".join(unknown)))
            if received is not None and len(set(serials)) != received:
                problems.append(_("%(count)d numéro(s) reçus donnés pour %(sku)s, %(received)d attendu(s).",
                                  count=len(set(serials)), sku=sku, received=received))
            taken = [units[s] for s in dict.fromkeys(serials) if s in units]
        elif line.product.serialized:
            taken = list(units.values())
        if problems:
            errors[sku] = problems
            continue
        plan.append((parcel_line, received or 0, refused or 0, reason, taken,
                     [unit for unit in units.values() if unit not in taken]))
    if errors:
        raise ValidationFailed(errors)
    levels = ledger.lock_relais_levels(order.relais_id, (pl.order_line.product_id for pl, *_rest in plan))
    for parcel_line, received, refused, reason, taken, refused_units in plan:
        line = parcel_line.order_line
        parcel_line.received, parcel_line.refused = received, refused
        line.received += received
        line.refused += refused
        if refused:
            line.refusal_reason = reason
        if received:
            ledger.move_relais(order.relais_id, line.product, RelaisMovementKind.RECEIPT, received,
                               order_id=order.id, level=levels[line.product_id],
                               reason=_("Colis n° %(shipment)d de la commande n° %(id)d",
                                        shipment=shipment.id, id=order.id))
        for unit in taken:
            ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, relais_id=order.relais_id, order_id=order.id)
        for unit in refused_units:
            ledger.set_unit_status(unit, UnitStatus.RETURNED, keep_relais=True, order_id=order.id,
                                   note=reason)
    shipment.status = ShipmentStatus.RECEIVED
    shipment.received_at, shipment.received_by_id = utcnow(), current_actor_id()
    db.session.flush()
    if order.status == OrderStatus.SHIPPED and all(
            parcel.status == ShipmentStatus.RECEIVED for parcel in shipments_of(order)):
        partial = any(line.refused for line in order.lines)
        transition(order, OrderStatus.PARTIALLY_RECEIVED if partial else OrderStatus.RECEIVED)
    return shipment
