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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import BigInteger, Select, Table, any_, bindparam, func, insert, literal, null, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import DateTime, String

from relais_platform.api import paginate_rows
from relais_platform.audit.services import current_actor_id
from relais_platform.domain import NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import Product, SerialKind
from relais_platform.stock.supply import origins
from relais_platform.stock.warehouse import ledger, locations
from relais_platform.stock.warehouse.models import (
    TRANSFER_KINDS,
    LocationStock,
    MovementKind,
    NationalStock,
    ReasonCode,
    RelaisMovementKind,
    SerialUnit,
    SerialUnitEvent,
    StockLocation,
    StockMovement,
    UnitStatus,
)
from relais_platform.stock.warehouse.serials import MAX_SERIALS_PER_RECEIPT, check_serials, expand_iccid_range
from relais_platform.tenants.models import Relais

MAX_RECEIPT_QUANTITY = 1_000_000
# A 422 listing 100,000 bad serials helps nobody: name the first ones, count the rest.
MAX_REPORTED_PROBLEMS = 1_000
MAX_UNIT_HISTORY = 500
# What any stored serial looks like (see serials.serial_problem).
_LOOKUP_SERIAL = re.compile(r"[A-Z0-9-]{3,32}")
# Units counted in the national on-hand quantity (see `verify`).
NATIONAL_UNIT_STATUSES = (UnitStatus.IN_STOCK, UnitStatus.RESERVED, UnitStatus.IN_TRANSIT)
# Units held at a location (in transit ones are counted apart).
LOCATION_UNIT_STATUSES = (UnitStatus.IN_STOCK, UnitStatus.RESERVED)
# Where a unit can come back from: sent out, held or handed out by a relais, in transit back,
# or found faulty at a relais under warranty (defective units at national stay put).
RETURNABLE_STATUSES = frozenset(
    {UnitStatus.SHIPPED, UnitStatus.AT_RELAIS, UnitStatus.DISTRIBUTED, UnitStatus.RETURNED,
     UnitStatus.DEFECTIVE}
)
WRITE_OFF_STATUSES = frozenset({UnitStatus.LOST, UnitStatus.DEFECTIVE})


def serial_kind(product: Product) -> SerialKind:
    """A serialized product's kind of serial (ICCID, IMEI...); a 422 for any other product."""
    if product.serial_kind is None:
        raise ValidationFailed({"sku": [_("Ce produit n'est pas suivi à l'unité.")]})
    return SerialKind(product.serial_kind)


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
    origin: origins.Origin | None = None,
    convention_id: int | None = None,
    location_id: int | None = None,
) -> int:
    """Receive goods into national stock at a location (the default one when none is named);
    returns the number of units received.

    The origin (supplier, grade, wipe certificate…) is checked first and recorded with the
    units (see `supply.origins`). With `convention_id`, the units are earmarked for that
    agreement (reporting.funders).
    """
    location_id = locations.resolve(location_id)
    convention = None
    if convention_id is not None:
        from relais_platform.reporting.funders import earmarks

        convention = earmarks.check_convention(convention_id)
    given = [name for name, value in (("quantity", quantity), ("serials", serials),
                                      ("serial_range", serial_range)) if value is not None]
    if len(given) != 1:
        field = "serials" if product.serialized else "quantity"
        raise ValidationFailed.field(
            field, _("Indiquez soit une quantité, soit une liste de numéros, soit une plage."))
    checked = origins.check(product, origin)
    serials_in: list[str] = []
    if product.serialized:
        if quantity is not None:
            raise ValidationFailed.field("quantity", _(
                "%(sku)s est suivi à l'unité : indiquez les numéros (liste ou plage).",
                sku=product.sku))
        level = ledger.lock_national_levels([product.id])[product.id]
        serials_in = _receive_units(product, serials, serial_range, reason, checked, location_id)
        received = len(serials_in)
    else:
        if quantity is None:
            raise ValidationFailed.field("serials", _(
                "%(sku)s n'est pas suivi à l'unité : indiquez une quantité.", sku=product.sku))
        if isinstance(quantity, bool) or not isinstance(quantity, int) \
                or not 0 < quantity <= MAX_RECEIPT_QUANTITY:
            raise ValidationFailed.field("quantity", _(
                "Quantité entre 1 et %(max)d attendue.", max=MAX_RECEIPT_QUANTITY))
        origins.check_quantity(checked)
        level = ledger.lock_national_levels([product.id])[product.id]
        received = quantity
    ledger.move_national(product, MovementKind.RECEIPT, on_hand_delta=received,
                         reason=(reason or "").strip() or None, level=level, location_id=location_id)
    origins.record(checked, received, serials_in)
    if convention is not None:
        earmarks.receive(convention, product, received)
    return received


def _receive_units(
    product: Product,
    serials: Sequence[str] | None,
    serial_range: tuple[str, str] | None,
    reason: str | None,
    origin: origins.CheckedOrigin,
    location_id: int,
) -> list[str]:
    """Validate, check against the registry, then insert units and their first event.

    The caller holds the product's national level lock, so two receipts of the same
    product run one after the other and the registry check sees the earlier one.
    """
    kind = serial_kind(product)
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
    origins.check_units(origin, new)
    _insert_units(product, new, reason, location_id)
    return new


def _insert_units(product: Product, serials: list[str], note: str | None, location_id: int) -> None:
    """One INSERT … SELECT FROM unnest for the units, chained to the insert of their events.

    A single round trip whatever the count: 100,000 SIM cards take about a second.
    """
    units, events = cast(Table, SerialUnit.__table__), cast(Table, SerialUnitEvent.__table__)
    now = utcnow()
    serial = func.unnest(bindparam("serials", serials, type_=ARRAY(String))).column_valued()
    new_units = (
        insert(units)
        .from_select(
            ["product_id", "serial", "status", "received_at", "location_id"],
            select(literal(product.id), serial,
                   literal(UnitStatus.IN_STOCK, units.c.status.type), literal(now, DateTime(timezone=True)),
                   literal(location_id, BigInteger)),
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
    if product.serial_kind is None:
        raise ValidationFailed.field(field, _("Ce produit n'est pas suivi par numéro de série."))
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
    location_id: int | None = None,
    reason_code: ReasonCode | None = None,
) -> int:
    """Correct the national on-hand quantity of a location after a count; returns the signed
    change.

    Serialized products are corrected unit by unit (units written off as lost or defective);
    found units are received instead. On hand never goes below what is reserved (409).
    Without a code, the reason is a free comment coded `other`.
    """
    reason = _require_reason(reason)
    reason_code = reason_code or ReasonCode.OTHER
    location_id = locations.resolve(location_id)
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
        elsewhere = [unit.serial for unit in units if unit.location_id != location_id]
        if elsewhere:
            raise _reject("serials", [f"{serial}: " + _("n'est pas à cet emplacement")
                                      for serial in elsewhere])
        delta = -len(units)
        ledger.move_national(product, MovementKind.ADJUSTMENT, on_hand_delta=delta, reason=reason,
                             level=level, location_id=location_id, reason_code=reason_code)
        for unit in units:
            ledger.set_unit_status(unit, status, note=reason)
        return delta
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0 \
            or abs(quantity) > MAX_RECEIPT_QUANTITY:
        raise ValidationFailed.field("quantity", _("Quantité non nulle attendue (négative pour une "
                                                   "sortie)."))
    ledger.move_national(product, MovementKind.ADJUSTMENT, on_hand_delta=quantity, reason=reason,
                         location_id=location_id, reason_code=reason_code)
    return quantity


def return_units(
    product: Product, serials: Sequence[str], *, reason: str | None, defective: bool = False,
    location_id: int | None = None,
) -> int:
    """Take serialized units back into national stock (warranty, refusal, relais closing).

    Units still held by a relais leave its inventory. Defective units come back for
    follow-up but are not counted on hand.
    """
    reason = _require_reason(reason)
    location_id = locations.resolve(location_id)
    level = ledger.lock_national_levels([product.id])[product.id]
    units = lock_units(product, serials, RETURNABLE_STATUSES)
    at_national = [unit.serial for unit in units
                   if unit.status == UnitStatus.DEFECTIVE and unit.relais_id is None]
    if at_national:
        raise _reject("serials", [f"{serial}: " + _("déjà revenue au stock national")
                                  for serial in at_national])
    by_relais: dict[int, int] = defaultdict(int)
    for unit in units:
        if unit.status == UnitStatus.AT_RELAIS and unit.relais_id is not None:
            by_relais[unit.relais_id] += 1
    for relais_id, count in sorted(by_relais.items()):
        ledger.move_relais(relais_id, product, RelaisMovementKind.RETURN, -count, reason=reason)
    origins: dict[int | None, int] = defaultdict(int)
    for unit in units:
        origins[unit.relais_id] += 1
        ledger.set_unit_status(unit, UnitStatus.DEFECTIVE if defective else UnitStatus.IN_STOCK,
                               note=reason, location_id=location_id)
    if not defective:
        for origin_id, count in sorted(origins.items(), key=lambda item: item[0] or 0):
            ledger.move_national(product, MovementKind.RETURN, on_hand_delta=count,
                                 relais_id=origin_id, reason=reason, level=level,
                                 location_id=location_id)
    return len(units)


# --- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationLevel:
    location_id: int
    name: str
    on_hand: int


@dataclass(frozen=True)
class StockRow:
    product_id: int
    sku: str
    name: str
    serialized: bool
    active: bool
    on_hand: int
    reserved: int
    locations: list[LocationLevel] = field(default_factory=list)
    in_transit: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _with_locations(rows: list[StockRow]) -> list[StockRow]:
    """Each row with its per-location levels and what is in transit (two queries)."""
    ids = [row.product_id for row in rows]
    if not ids:
        return rows
    spots: dict[int, list[LocationLevel]] = defaultdict(list)
    for product_id, location_id, name, on_hand in db.session.execute(
        select(LocationStock.product_id, StockLocation.id, StockLocation.name, LocationStock.on_hand)
        .join(StockLocation, StockLocation.id == LocationStock.location_id)
        .where(LocationStock.product_id.in_(ids), LocationStock.on_hand != 0)
        .order_by(StockLocation.is_default.desc(), StockLocation.name)
    ):
        spots[product_id].append(LocationLevel(location_id, name, on_hand))
    # Transfer movements net to minus what has left one location and not reached the other.
    transit = dict(db.session.execute(
        select(StockMovement.product_id, -func.sum(StockMovement.on_hand_delta))
        .where(StockMovement.product_id.in_(ids), StockMovement.kind.in_(TRANSFER_KINDS))
        .group_by(StockMovement.product_id)).tuples().all())
    return [replace(row, locations=spots.get(row.product_id, []),
                    in_transit=int(transit.get(row.product_id) or 0)) for row in rows]


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
    return _with_locations([StockRow(*row) for row in rows]), total


def stock_row(product: Product) -> StockRow:
    return _with_locations([StockRow(*db.session.execute(_stock_rows().where(Product.id == product.id))
                                     .one())])[0]


@dataclass(frozen=True)
class MovementFilters:
    product_id: int | None = None
    sku: str | None = None
    kind: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class NationalMovement:
    id: int
    occurred_at: datetime
    product_id: int
    sku: str
    product_name: str
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    location_id: int | None
    location_name: str | None
    order_id: int | None
    relais_id: int | None
    relais_name: str | None
    reason: str | None
    reason_code: ReasonCode | None
    actor_id: int | None


def movements(filters: MovementFilters, page: int, per_page: int) -> tuple[list[NationalMovement], int]:
    """The national ledger, newest first, filtered by product (id or SKU), kind and days (in the
    platform's time zone, both included): the page and its count (capped, see `paginate_rows`),
    two queries. `to` before `from` is a 422."""
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ValidationFailed.field("to", _("La date de fin précède la date de début."))
    stmt = (
        select(StockMovement.id, StockMovement.occurred_at, StockMovement.product_id, Product.sku,
               Product.name, StockMovement.kind, StockMovement.on_hand_delta,
               StockMovement.reserved_delta, StockMovement.location_id, StockLocation.name,
               StockMovement.order_id, StockMovement.relais_id, Relais.name, StockMovement.reason,
               StockMovement.reason_code, StockMovement.actor_id)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(StockLocation, StockLocation.id == StockMovement.location_id)
        .outerjoin(Relais, Relais.id == StockMovement.relais_id)
    )
    if filters.product_id is not None:
        stmt = stmt.where(StockMovement.product_id == filters.product_id)
    if filters.sku:
        stmt = stmt.where(Product.sku == filters.sku.strip().upper())
    if filters.kind:
        stmt = stmt.where(StockMovement.kind == MovementKind(filters.kind))
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    if filters.date_from is not None:
        stmt = stmt.where(StockMovement.occurred_at >= datetime.combine(filters.date_from, time(), zone))
    if filters.date_to is not None:
        stmt = stmt.where(StockMovement.occurred_at
                          < datetime.combine(filters.date_to + timedelta(days=1), time(), zone))
    rows, total = paginate_rows(
        stmt.order_by(StockMovement.occurred_at.desc(), StockMovement.id.desc()), page, per_page)
    return [NationalMovement(*row) for row in rows], total


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
