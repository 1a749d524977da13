"""National stock: receipts (by quantity, serial list or ICCID range), adjustments, returns,
the stock overview and unit lookup.

Every function here runs under the national scope (`open_national_scope`), changes levels
only through `ledger`, flushes and never commits. A receipt is all or nothing: any invalid,
repeated or already-known serial rejects it whole, naming each one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import BigInteger, Select, any_, bindparam, func, insert, literal, null, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import DateTime, String

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Product, SerialKind
from relais_platform.stock.warehouse import ledger
from relais_platform.stock.warehouse.models import (
    MovementKind,
    NationalStock,
    RelaisMovementKind,
    SerialUnit,
    SerialUnitEvent,
    UnitStatus,
)
from relais_platform.stock.warehouse.serials import MAX_SERIALS_PER_RECEIPT, check_serials, expand_iccid_range

MAX_RECEIPT_QUANTITY = 1_000_000
# A 422 listing 100,000 bad serials helps nobody: name the first ones, count the rest.
MAX_REPORTED_PROBLEMS = 1_000
MAX_UNIT_HISTORY = 500
# What any stored serial looks like (see serials.serial_problem).
_LOOKUP_SERIAL = re.compile(r"[A-Z0-9-]{3,32}")
# Units counted in the national on-hand quantity (see `verify`).
NATIONAL_UNIT_STATUSES = (UnitStatus.IN_STOCK, UnitStatus.RESERVED)
# Where a unit can come back from: sent out, held or handed out by a relais, in transit back.
RETURNABLE_STATUSES = frozenset(
    {UnitStatus.SHIPPED, UnitStatus.AT_RELAIS, UnitStatus.DISTRIBUTED, UnitStatus.RETURNED}
)
WRITE_OFF_STATUSES = frozenset({UnitStatus.LOST, UnitStatus.DEFECTIVE})


def _reject(field: str, problems: list[str]) -> ValidationFailed:
    shown = problems[:MAX_REPORTED_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(_("… et %(count)d autre(s) numéro(s) refusé(s).",
                       count=len(problems) - len(shown)))
    return ValidationFailed({field: shown})


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", _("Indiquez le motif."))
    return reason


# --- receipts -------------------------------------------------------------------------


def receive(
    product: Product,
    *,
    quantity: int | None = None,
    serials: Sequence[str] | None = None,
    serial_range: tuple[str, str] | None = None,
    reason: str | None = None,
) -> int:
    """Receive goods into national stock; returns the number of units received."""
    given = [name for name, value in (("quantity", quantity), ("serials", serials),
                                      ("serial_range", serial_range)) if value is not None]
    if len(given) != 1:
        field = "serials" if product.serialized else "quantity"
        raise ValidationFailed.field(
            field, _("Indiquez soit une quantité, soit une liste de numéros, soit une plage."))
    if product.serialized:
        if quantity is not None:
            raise ValidationFailed.field("quantity", _(
                "%(sku)s est suivi à l'unité : indiquez les numéros (liste ou plage).",
                sku=product.sku))
        level = ledger.lock_national_levels([product.id])[product.id]
        received = _receive_units(product, serials, serial_range, reason)
    else:
        if quantity is None:
            raise ValidationFailed.field("serials", _(
                "%(sku)s n'est pas suivi à l'unité : indiquez une quantité.", sku=product.sku))
        if isinstance(quantity, bool) or not isinstance(quantity, int) \
                or not 0 < quantity <= MAX_RECEIPT_QUANTITY:
            raise ValidationFailed.field("quantity", _(
                "Quantité entre 1 et %(max)d attendue.", max=MAX_RECEIPT_QUANTITY))
        level = ledger.lock_national_levels([product.id])[product.id]
        received = quantity
    ledger.move_national(product, MovementKind.RECEIPT, on_hand_delta=received,
                         reason=(reason or "").strip() or None, level=level)
    return received


def _receive_units(
    product: Product,
    serials: Sequence[str] | None,
    serial_range: tuple[str, str] | None,
    reason: str | None,
) -> int:
    """Validate, check against the registry, then insert units and their first event.

    The caller holds the product's national level lock, so two receipts of the same
    product run one after the other and the registry check sees the earlier one.
    """
    kind = SerialKind(product.serial_kind)
    if serial_range is not None:
        field = "serial_range"
        if kind != SerialKind.ICCID:
            raise ValidationFailed.field(field, _("Les plages ne concernent que les ICCID."))
        new, problems = expand_iccid_range(*serial_range)
    else:
        field = "serials"
        checked = check_serials(kind, serials or ())
        new, problems = checked.serials, checked.problems
        if not new and not problems:
            problems = [_("Aucun numéro saisi.")]
        elif len(new) > MAX_SERIALS_PER_RECEIPT:
            problems = [_("%(count)d numéros : au plus %(max)d par réception.",
                          count=len(new), max=MAX_SERIALS_PER_RECEIPT)]
    if problems:
        raise _reject(field, problems)
    known = db.session.scalars(
        select(SerialUnit.serial)
        .where(SerialUnit.product_id == product.id,
               SerialUnit.serial == any_(bindparam("serials", new, type_=ARRAY(String))))
        .order_by(SerialUnit.serial)
    ).all()
    if known:
        already = _("déjà enregistré pour %(sku)s", sku=product.sku)
        raise _reject(field, [f"{serial}: {already}" for serial in known])
    _insert_units(product, new, reason)
    return len(new)


def _insert_units(product: Product, serials: list[str], note: str | None) -> None:
    """One INSERT … SELECT FROM unnest for the units, chained to the insert of their events.

    A single round trip whatever the count: 100,000 SIM cards take about a second.
    """
    units, events = SerialUnit.__table__, SerialUnitEvent.__table__
    now = utcnow()
    serial = func.unnest(bindparam("serials", serials, type_=ARRAY(String))).column_valued()
    new_units = (
        insert(units)
        .from_select(
            ["product_id", "serial", "status", "received_at"],
            select(literal(product.id), serial,
                   literal(UnitStatus.IN_STOCK, units.c.status.type), literal(now, DateTime(timezone=True))),
        )
        .returning(units.c.id)
        .cte("new_units")
    )
    db.session.execute(
        insert(events).from_select(
            ["unit_id", "occurred_at", "from_status", "to_status", "actor_id", "note"],
            select(new_units.c.id, literal(now, DateTime(timezone=True)), null(),
                   literal(UnitStatus.IN_STOCK, events.c.to_status.type),
                   literal(current_actor_id(), BigInteger),
                   literal(note or _("Réception au stock national"))),
        )
    )


# --- serialized units by serial -------------------------------------------------------


def lock_units(
    product: Product,
    entries: Iterable[str],
    allowed: Iterable[UnitStatus],
    *,
    field: str = "serials",
) -> list[SerialUnit]:
    """The units of these serials, row-locked, each checked to be in an allowed status.

    Every unknown, repeated, invalid or wrongly placed serial is named in one 422.
    """
    allowed = frozenset(allowed)
    checked = check_serials(SerialKind(product.serial_kind), entries)
    problems = list(checked.problems)
    units = {
        unit.serial: unit
        for unit in db.session.scalars(
            select(SerialUnit)
            .where(SerialUnit.product_id == product.id,
                   SerialUnit.serial == any_(bindparam("wanted", checked.serials, type_=ARRAY(String))))
            .order_by(SerialUnit.id)
            .with_for_update()
        )
    }
    for serial in checked.serials:
        unit = units.get(serial)
        if unit is None:
            problems.append(f"{serial}: " + _("inconnu pour %(sku)s", sku=product.sku))
        elif unit.status not in allowed:
            problems.append(f"{serial}: " + _("statut actuel : %(status)s", status=unit.status.value))
    if problems:
        raise _reject(field, problems)
    if not units:
        raise ValidationFailed.field(field, _("Aucun numéro saisi."))
    return [units[serial] for serial in checked.serials]


# --- adjustments and returns ----------------------------------------------------------


def adjust(
    product: Product,
    *,
    reason: str | None,
    quantity: int | None = None,
    serials: Sequence[str] | None = None,
    status: UnitStatus = UnitStatus.LOST,
) -> int:
    """Correct the national on-hand quantity after a count; returns the signed change.

    Serialized products are corrected unit by unit (units written off as lost or defective);
    found units are received instead. On hand never goes below what is reserved (409).
    """
    reason = _require_reason(reason)
    if product.serialized:
        if serials is None:
            raise ValidationFailed.field("quantity", _(
                "%(sku)s est suivi à l'unité : indiquez les numéros des unités perdues ou "
                "défectueuses (les unités retrouvées s'enregistrent par une réception).",
                sku=product.sku))
        if status not in WRITE_OFF_STATUSES:
            raise ValidationFailed.field("status", _("Statut attendu : lost ou defective."))
        level = ledger.lock_national_levels([product.id])[product.id]
        units = lock_units(product, serials, {UnitStatus.IN_STOCK})
        delta = -len(units)
        ledger.move_national(product, MovementKind.ADJUSTMENT, on_hand_delta=delta, reason=reason,
                             level=level)
        for unit in units:
            ledger.set_unit_status(unit, status, note=reason)
        return delta
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0 \
            or abs(quantity) > MAX_RECEIPT_QUANTITY:
        raise ValidationFailed.field("quantity", _("Quantité non nulle attendue (négative pour une "
                                                   "sortie)."))
    ledger.move_national(product, MovementKind.ADJUSTMENT, on_hand_delta=quantity, reason=reason)
    return quantity


def return_units(
    product: Product, serials: Sequence[str], *, reason: str | None, defective: bool = False
) -> int:
    """Take serialized units back into national stock (warranty, refusal, relais closing).

    Units still held by a relais leave its inventory. Defective units come back for
    follow-up but are not counted on hand.
    """
    reason = _require_reason(reason)
    level = ledger.lock_national_levels([product.id])[product.id]
    units = lock_units(product, serials, RETURNABLE_STATUSES)
    by_relais: dict[int | None, int] = defaultdict(int)
    for unit in units:
        if unit.status == UnitStatus.AT_RELAIS and unit.relais_id is not None:
            by_relais[unit.relais_id] += 1
    for relais_id, count in sorted(by_relais.items()):
        ledger.move_relais(relais_id, product, RelaisMovementKind.RETURN, -count, reason=reason)
    origins: dict[int | None, int] = defaultdict(int)
    for unit in units:
        origins[unit.relais_id] += 1
        ledger.set_unit_status(unit, UnitStatus.DEFECTIVE if defective else UnitStatus.IN_STOCK,
                               note=reason)
    if not defective:
        for relais_id, count in sorted(origins.items(), key=lambda item: item[0] or 0):
            ledger.move_national(product, MovementKind.RETURN, on_hand_delta=count,
                                 relais_id=relais_id, reason=reason, level=level)
    return len(units)


# --- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    product_id: int
    sku: str
    name: str
    serialized: bool
    active: bool
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _stock_rows() -> Select:
    return select(
        Product.id, Product.sku, Product.name, Product.serialized, Product.active,
        func.coalesce(NationalStock.on_hand, 0), func.coalesce(NationalStock.reserved, 0),
    ).outerjoin(NationalStock, NationalStock.product_id == Product.id)


def stock_overview(page: int, per_page: int, *, active: bool | None = None) -> tuple[list[StockRow], int]:
    """National levels of every product (zero when never received): two queries a page."""
    stmt = _stock_rows()
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(Product.sku).limit(per_page).offset((page - 1) * per_page))
    return [StockRow(*row) for row in rows], total


def stock_row(product: Product) -> StockRow:
    return StockRow(*db.session.execute(_stock_rows().where(Product.id == product.id)).one())


def find_unit(serial: str, sku: str | None = None, *, relais_id: int | None = None) -> SerialUnit:
    """A unit by serial (and product when several share it); `relais_id`: only its units.

    A unit held elsewhere is reported missing, exactly like an unknown one.
    """
    serial = serial.strip().upper()
    # Stored normalized: digits, or upper-case serial numbers; anything else is no serial.
    if not _LOOKUP_SERIAL.fullmatch(serial):
        raise NotFound(_("Unité introuvable."))
    stmt = select(SerialUnit).join(Product).where(SerialUnit.serial == serial)
    if sku:
        stmt = stmt.where(Product.sku == sku.strip().upper())
    if relais_id is not None:
        stmt = stmt.where(SerialUnit.relais_id == relais_id)
    units = db.session.scalars(stmt.limit(2)).all()
    if not units:
        raise NotFound(_("Unité introuvable."))
    if len(units) > 1:
        raise ValidationFailed.field("sku", _("Plusieurs produits portent ce numéro : précisez la "
                                              "référence."))
    return units[0]


def unit_history(unit: SerialUnit) -> list[SerialUnitEvent]:
    return list(db.session.scalars(
        select(SerialUnitEvent)
        .where(SerialUnitEvent.unit_id == unit.id)
        .order_by(SerialUnitEvent.occurred_at, SerialUnitEvent.id)
        .limit(MAX_UNIT_HISTORY)
    ))
