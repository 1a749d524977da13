"""Shipment by the national team, receipt by the relais, closing.

- A shipment sends each line's whole allocation (what was approved and paid for): serialized
  units are given (scan or paste) or picked automatically, oldest first. The national ledger
  records a `shipment` (on hand and reserved both down).
- A receipt is confirmed line by line: received + refused = shipped, a reason for every
  refusal, serials checked against what was shipped on that line. Received goods enter the
  relais' inventory (`receipt`); received units become `at_relais`, refused units `returned`
  (still in the relais' custody until they travel back).
- Refused goods come back to the national stock when the national team closes the order:
  closing means the refusals have been settled and the goods are back in the warehouse, so
  it books a national `return` movement (on hand up) and puts refused units back in stock.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.orders import delivery_note, notifications
from relais_platform.stock.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentRoute,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from relais_platform.stock.orders.services import (
    lock_orders,
    reader_scope,
    shipped_units,
    status_label,
    transition,
)
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import MovementKind, RelaisMovementKind, SerialUnit, UnitStatus

_SEPARATORS = re.compile(r"[\s,;]+")
_SERIAL = re.compile(r"[A-Z0-9-]{3,32}")


def normalize_serials(values: Iterable[str] | None) -> list[str]:
    """Scanned or pasted serials: one per item, or several separated by blanks, commas or
    semicolons. Upper-cased like the stored serials (ICCIDs and IMEIs are digits anyway)."""
    return [serial.upper() for value in values or () for serial in _SEPARATORS.split(value or "")
            if serial]


def repeated_serials(serials: list[str]) -> list[str]:
    return sorted(serial for serial, count in Counter(serials).items() if count > 1)


def by_sku(order: Order, lines: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Mapping[str, Any]],
                                                                       dict[str, OrderLine]]:
    order_lines = {line.product.sku: line for line in order.lines}
    given: dict[str, Mapping[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for spec in lines:
        sku = (spec.get("sku") or "").strip().upper()
        if sku not in order_lines:
            errors[sku or "sku"] = [_("Le produit %(sku)s ne figure pas dans la commande n° %(id)d.",
                                      sku=sku, id=order.id)]
        elif sku in given:
            errors[sku] = [_("Le produit %(sku)s apparaît plusieurs fois.", sku=sku)]
        else:
            given[sku] = spec
    if errors:
        raise ValidationFailed(errors)
    return given, order_lines


def is_shippable(order: Order) -> bool:
    return order.status == OrderStatus.PAID or (
        order.status == OrderStatus.ALLOCATED and order.payment_route == PaymentRoute.FREE
    )


def pick_units(line: OrderLine, serials: list[str], quantity: int,
                location_id: int) -> tuple[list[SerialUnit], list[str]]:
    """The units to ship on a line, locked; or the problems, naming each serial."""
    product = line.product
    if not serials:
        # SKIP LOCKED: a concurrent shipment picking the same product takes other units.
        units = list(db.session.scalars(
            select(SerialUnit)
            .where(SerialUnit.product_id == product.id, SerialUnit.status == UnitStatus.IN_STOCK,
                   SerialUnit.relais_id.is_(None), SerialUnit.location_id == location_id)
            .order_by(SerialUnit.received_at, SerialUnit.id)
            .limit(quantity)
            .with_for_update(skip_locked=True)
        ))
        if len(units) < quantity:
            raise Conflict(_("Seulement %(found)d unité(s) de %(sku)s (%(name)s) disponibles en stock "
                             "pour %(quantity)d à expédier.", found=len(units), sku=product.sku,
                             name=product.name, quantity=quantity), {product.sku: [product.sku]})
        return units, []
    problems = []
    if duplicates := repeated_serials(serials):
        problems.append(_("Numéros en double pour %(sku)s : %(serials)s.", sku=product.sku,
                          serials=", ".join(duplicates)))
    if len(serials) != quantity:
        problems.append(_("%(count)d numéro(s) de série donnés pour %(sku)s (%(name)s), %(quantity)d "
                          "attendu(s).", count=len(serials), sku=product.sku, name=product.name,
                          quantity=quantity))
    # Only what can be a serial goes to the database (a stray control character would not
    # even be a valid text parameter); the rest is reported unknown below.
    candidates = {serial for serial in serials if _SERIAL.fullmatch(serial)}
    found = {unit.serial: unit for unit in db.session.scalars(
        select(SerialUnit)
        .where(SerialUnit.product_id == product.id, SerialUnit.serial.in_(candidates))
        .order_by(SerialUnit.id)
        .with_for_update()
    )}
    if unknown := sorted(set(serials) - found.keys()):
        problems.append(_("Numéros inconnus pour %(sku)s (%(name)s) : %(serials)s.", sku=product.sku,
                          name=product.name, serials=", ".join(unknown)))
    if unavailable := sorted(s for s, unit in found.items()
                             if unit.status != UnitStatus.IN_STOCK or unit.relais_id is not None):
        problems.append(_("Numéros qui ne sont pas en stock national pour %(sku)s : %(serials)s.",
                          sku=product.sku, serials=", ".join(unavailable)))
    elif elsewhere := sorted(s for s, unit in found.items() if unit.location_id != location_id):
        problems.append(_("Numéros qui ne sont pas à l'emplacement d'expédition pour %(sku)s : "
                          "%(serials)s.", sku=product.sku, serials=", ".join(elsewhere)))
    return list(found.values()), problems


def ship(order: Order, lines: Iterable[Mapping[str, Any]] = ()) -> Order:
    """Ship an allocated order (paid, or free). Lines not listed ship in full, units picked
    automatically; a listed line may give its quantity (it must be the allocation) and serials."""
    national_scope(_("expédition d'une commande"))
    order = lock_orders([order.id])[0]
    if not is_shippable(order):
        if order.status == OrderStatus.AWAITING_PAYMENT:
            raise Conflict(_("La commande n° %(id)d attend son paiement : elle ne peut pas encore être "
                             "expédiée.", id=order.id))
        raise Conflict(_("La commande n° %(id)d est %(status)s : elle ne peut pas être expédiée.",
                         id=order.id, status=status_label(order.status)))
    given, order_lines = by_sku(order, lines)
    errors: dict[str, list[str]] = {}
    plan: list[tuple[OrderLine, int, list[str]]] = []
    for sku, line in order_lines.items():
        spec = given.get(sku, {})
        quantity = spec.get("quantity")
        # What partial shipments (`shipments.ship_part`) have not sent yet.
        remaining = line.allocated - line.shipped
        quantity = remaining if quantity is None else quantity
        serials = normalize_serials(spec.get("serials"))
        if quantity != remaining:
            errors[sku] = [_("Expédiez la quantité allouée de %(sku)s (%(name)s) : %(allocated)d.",
                             sku=sku, name=line.product.name, allocated=remaining)]
        elif serials and not line.product.serialized:
            errors[sku] = [_("Le produit %(sku)s (%(name)s) n'a pas de numéro de série.",
                             sku=sku, name=line.product.name)]
        elif quantity:
            plan.append((line, quantity, serials))
    if errors:
        raise ValidationFailed(errors)
    levels = ledger.lock_national_levels(line.product_id for line, _q, _s in plan)
    location_id = ledger.default_location_id()
    picked: list[tuple[OrderLine, int, list[SerialUnit]]] = []
    for line, quantity, serials in plan:
        units: list[SerialUnit] = []
        if line.product.serialized:
            units, problems = pick_units(line, serials, quantity, location_id)
            if problems:
                errors[line.product.sku] = problems
        picked.append((line, quantity, units))
    if errors:
        raise ValidationFailed(errors)
    # One parcel from the default location, so that parcels are confirmed alike.
    shipment = Shipment(relais_id=order.relais_id, order_id=order.id, location_id=location_id,
                        status=ShipmentStatus.SHIPPED, shipped_by_id=current_actor_id())
    if picked:
        db.session.add(shipment)
    for line, quantity, units in picked:
        ledger.move_national(
            line.product, MovementKind.SHIPMENT, on_hand_delta=-quantity, reserved_delta=-quantity,
            order_id=order.id, relais_id=order.relais_id,
            reason=_("Expédition de la commande n° %(id)d", id=order.id),
            level=levels[line.product_id], location_id=location_id,
        )
        line.shipped += quantity
        for unit in units:
            ledger.set_unit_status(unit, UnitStatus.SHIPPED, relais_id=order.relais_id, order_id=order.id)
            unit.order_line_id = line.id
        shipment.lines.append(ShipmentLine(relais_id=order.relais_id, order_line_id=line.id,
                                           quantity=quantity, serials=[unit.serial for unit in units]))
    transition(order, OrderStatus.SHIPPED)
    notifications.order_shipped(order, partial(delivery_note.attachment, order))
    return order


def count_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def receive(order: Order, lines: Iterable[Mapping[str, Any]]) -> Order:
    """The relais confirms receipt line by line (every shipped line must be given)."""
    reader_scope(_("réception d'une commande"))
    order = lock_orders([order.id])[0]
    if order.status != OrderStatus.SHIPPED:
        raise Conflict(_("La commande n° %(id)d est %(status)s : il n'y a pas de réception à confirmer.",
                         id=order.id, status=status_label(order.status)))
    parcels = list(db.session.scalars(select(Shipment).where(Shipment.order_id == order.id)
                                      .order_by(Shipment.id).with_for_update()))
    if any(parcel.status == ShipmentStatus.RECEIVED for parcel in parcels):
        raise Conflict(_("Des colis de la commande n° %(id)d sont déjà réceptionnés : confirmez les autres "
                         "colis un par un.", id=order.id))
    given, order_lines = by_sku(order, lines)
    units_by_line = shipped_units(order)
    errors: dict[str, list[str]] = {}
    plan: list[tuple[OrderLine, int, int, str | None, list[SerialUnit], list[SerialUnit]]] = []
    for sku, line in order_lines.items():
        name = line.product.name
        spec = given.get(sku)
        if spec is None:
            if line.shipped:
                errors[sku] = [_("Indiquez la réception de %(sku)s (%(name)s).", sku=sku, name=name)]
            continue
        received, refused = count_or_none(spec.get("received")), count_or_none(spec.get("refused", 0) or 0)
        reason = (spec.get("refusal_reason") or "").strip() or None
        serials = normalize_serials(spec.get("serials"))
        problems = []
        if received is None or refused is None:
            problems.append(_("Les quantités de %(sku)s (%(name)s) doivent être des entiers positifs ou "
                              "nuls.", sku=sku, name=name))
        elif received + refused != line.shipped:
            problems.append(_("Pour %(sku)s (%(name)s), reçu (%(received)d) + refusé (%(refused)d) doit "
                              "égaler la quantité expédiée (%(shipped)d).", sku=sku, name=name,
                              received=received, refused=refused, shipped=line.shipped))
        if refused and not reason:
            problems.append(_("Indiquez le motif du refus de %(sku)s (%(name)s).", sku=sku, name=name))
        shipped_here = {unit.serial: unit for unit in units_by_line[line.id]
                        if unit.status == UnitStatus.SHIPPED}
        taken: list[SerialUnit] = []
        if serials and not line.product.serialized:
            problems.append(_("Le produit %(sku)s (%(name)s) n'a pas de numéro de série.",
                              sku=sku, name=name))
        elif serials:
            if duplicates := repeated_serials(serials):
                problems.append(_("Numéros en double pour %(sku)s : %(serials)s.", sku=sku,
                                  serials=", ".join(duplicates)))
            if unknown := sorted(set(serials) - shipped_here.keys()):
                problems.append(_("Numéros qui ne figurent pas dans l'expédition de %(sku)s (%(name)s) : "
                                  "%(serials)s.", sku=sku, name=name, serials=", ".join(unknown)))
            if received is not None and len(set(serials)) != received:
                problems.append(_("%(count)d numéro(s) reçus donnés pour %(sku)s, %(received)d attendu(s).",
                                  count=len(set(serials)), sku=sku, received=received))
            taken = [shipped_here[s] for s in dict.fromkeys(serials) if s in shipped_here]
        elif line.product.serialized and refused:
            problems.append(_("Scannez ou collez les numéros reçus de %(sku)s (%(name)s) : les autres "
                              "seront enregistrés comme refusés.", sku=sku, name=name))
        elif line.product.serialized:
            taken = list(shipped_here.values())
        if problems:
            errors[sku] = problems
            continue
        assert received is not None and refused is not None  # a problem otherwise
        refused_units = [unit for unit in shipped_here.values() if unit not in taken]
        plan.append((line, received, refused, reason, taken, refused_units))
    if errors:
        raise ValidationFailed(errors)
    levels = ledger.lock_relais_levels(order.relais_id, (line.product_id for line, *_rest in plan
                                                         if line.shipped))
    for line, received, refused, reason, taken, refused_units in plan:
        line.received, line.refused, line.refusal_reason = received, refused, reason if refused else None
        if received:
            ledger.move_relais(order.relais_id, line.product, RelaisMovementKind.RECEIPT, received,
                               order_id=order.id, level=levels[line.product_id],
                               reason=_("Réception de la commande n° %(id)d", id=order.id))
        for unit in taken:
            ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, relais_id=order.relais_id, order_id=order.id)
        for unit in refused_units:
            ledger.set_unit_status(unit, UnitStatus.RETURNED, keep_relais=True, order_id=order.id,
                                   note=reason)
    for parcel in parcels:
        parcel.status, parcel.received_at, parcel.received_by_id = (ShipmentStatus.RECEIVED, utcnow(),
                                                                    current_actor_id())
    partial = any(line.refused for line in order.lines)
    transition(order, OrderStatus.PARTIALLY_RECEIVED if partial else OrderStatus.RECEIVED)
    return order


def close(order: Order) -> Order:
    """Close a received order; refused goods are booked back into the national stock."""
    national_scope(_("clôture d'une commande"))
    order = lock_orders([order.id])[0]
    if order.status not in (OrderStatus.RECEIVED, OrderStatus.PARTIALLY_RECEIVED):
        raise Conflict(_("La commande n° %(id)d est %(status)s : seule une commande reçue peut être "
                         "clôturée.", id=order.id, status=status_label(order.status)))
    refused = [line for line in order.lines if line.refused]
    levels = ledger.lock_national_levels(line.product_id for line in refused)
    units = shipped_units(order) if refused else {}
    for line in refused:
        ledger.move_national(
            line.product, MovementKind.RETURN, on_hand_delta=line.refused, order_id=order.id,
            relais_id=order.relais_id, level=levels[line.product_id],
            reason=_("Retour des refus de la commande n° %(id)d : %(reason)s", id=order.id,
                     reason=line.refusal_reason or ""),
        )
        for unit in units[line.id]:
            if unit.status == UnitStatus.RETURNED:
                ledger.set_unit_status(unit, UnitStatus.IN_STOCK, relais_id=None, order_id=order.id,
                                       note=line.refusal_reason)
    transition(order, OrderStatus.CLOSED)
    return order
