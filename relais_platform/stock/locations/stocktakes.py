"""Stock counts (stocktakes) of a national location or of a relais' own stock.

Starting a count prints a count sheet: each product held with its expected quantity and,
for serialized products, the serials expected. Counted quantities and scanned serials are
entered (several times if need be) until the count is finalised; then every difference
becomes a ledger adjustment with a coded reason, units included:

- an expected unit not scanned is written off (`lost`; `defective` when the reason is
  `damaged`);
- a scanned unit written off earlier is found again (back in stock);
- in a national count, a scanned unit recorded at another location is moved here (a
  transfer out there, in here: the network-wide stock does not change).

The differences are computed against the stock at finalisation, so goods that moved between
the two (a shipment, a distribution) are not counted as missing. A relais counts its own
stock (relais admin); the national team counts a location.
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
from relais_platform.stock.locations.models import Stocktake, StocktakeLine, StocktakeStatus
from relais_platform.stock.locations.transfers import products_by_sku
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import ledger, locations, national
from relais_platform.stock.warehouse.models import (
    LocationStock,
    MovementKind,
    ReasonCode,
    RelaisMovementKind,
    RelaisStock,
    SerialUnit,
    UnitStatus,
)
from relais_platform.stock.warehouse.serials import check_serials
from relais_platform.tenancy import current_scope

MAX_COMMENT = 2000
MAX_COUNT = 1_000_000
# A missing unit's status by reason; other reasons write it off as lost.
WRITE_OFF = {ReasonCode.DAMAGED: UnitStatus.DEFECTIVE}
LOSS_CODES = frozenset({ReasonCode.LOST, ReasonCode.STOLEN, ReasonCode.DAMAGED})
WRITTEN_OFF = (UnitStatus.LOST, UnitStatus.DEFECTIVE)


def _holder() -> tuple[int | None, bool]:
    """(bound relais id or None, national?) of the caller."""
    scope = current_scope(db.session)
    return scope.relais_id, not scope.is_bound


def _expected(location_id: int | None, relais_id: int | None) -> dict[int, tuple[int, list[str]]]:
    """product id → (quantity, serials) the books say the holder has now (two queries)."""
    if relais_id is not None:
        levels = select(RelaisStock.product_id, RelaisStock.on_hand).where(
            RelaisStock.relais_id == relais_id, RelaisStock.on_hand > 0)
        held = (SerialUnit.relais_id == relais_id, SerialUnit.status == UnitStatus.AT_RELAIS)
    else:
        levels = select(LocationStock.product_id, LocationStock.on_hand).where(
            LocationStock.location_id == location_id, LocationStock.on_hand > 0)
        held = (SerialUnit.location_id == location_id, SerialUnit.status == UnitStatus.IN_STOCK)
    serials: dict[int, list[str]] = {}
    for product_id, serial in db.session.execute(
        select(SerialUnit.product_id, SerialUnit.serial).where(*held).order_by(SerialUnit.serial)
    ):
        serials.setdefault(product_id, []).append(serial)
    return {pid: (qty, serials.get(pid, [])) for pid, qty in db.session.execute(levels).tuples()}


def start(location_id: Any = None) -> Stocktake:
    """Open a count of a national location (national) or of the caller's relais."""
    relais_id, national = _holder()
    if national:
        national_scope(_("inventaire physique d'un emplacement"))
        if location_id is None:
            raise ValidationFailed.field("location_id", _("Choisissez l'emplacement à compter."))
        location_id = locations.get(location_id).id
        open_one = Stocktake.location_id == location_id
    else:
        location_id = None
        open_one = Stocktake.relais_id == relais_id
    if db.session.scalar(select(Stocktake.id).where(open_one, Stocktake.status == StocktakeStatus.OPEN)):
        raise Conflict(_("Un inventaire est déjà en cours : finalisez-le d'abord."))
    stocktake = Stocktake(location_id=location_id, relais_id=relais_id, status=StocktakeStatus.OPEN,
                          created_by_id=current_actor_id())
    for product_id, (quantity, serials) in sorted(_expected(location_id, relais_id).items()):
        stocktake.lines.append(StocktakeLine(relais_id=relais_id, product_id=product_id, expected=quantity,
                                             expected_serials=serials))
    db.session.add(stocktake)
    db.session.flush()
    return stocktake


def get(stocktake_id: int, *, lock: bool = False) -> Stocktake:
    """A count of the caller's relais, or any count for the national team; else 404."""
    relais_id, national = _holder()
    if national:
        national_scope(_("consultation d'un inventaire physique"))
    stmt = select(Stocktake).where(Stocktake.id == stocktake_id).options(selectinload(Stocktake.lines))
    if not national:
        stmt = stmt.where(Stocktake.relais_id == relais_id)
    if lock:
        stmt = stmt.with_for_update(of=Stocktake).execution_options(populate_existing=True)
    stocktake = db.session.scalar(stmt)
    if stocktake is None:
        raise NotFound(_("Inventaire introuvable."))
    return stocktake


def query(page: int, per_page: int, *, status: StocktakeStatus | None = None) -> tuple[list[Stocktake], int]:
    relais_id, national = _holder()
    if national:
        national_scope(_("liste des inventaires physiques"))
    stmt = select(Stocktake)
    if not national:
        stmt = stmt.where(Stocktake.relais_id == relais_id)
    if status is not None:
        stmt = stmt.where(Stocktake.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.options(selectinload(Stocktake.lines))
                              .order_by(Stocktake.created_at.desc(), Stocktake.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def _comment(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text[:MAX_COMMENT] or None


def _code(value: Any) -> ReasonCode | None:
    if value in (None, ""):
        return None
    try:
        return ReasonCode(value)
    except ValueError:
        return None


def enter(stocktake_id: int, lines: Iterable[Mapping[str, Any]]) -> Stocktake:
    """Record counted quantities (or scanned serials) and the reason of each difference."""
    stocktake = get(stocktake_id, lock=True)
    if stocktake.status != StocktakeStatus.OPEN:
        raise Conflict(_("L'inventaire n° %(id)d est finalisé.", id=stocktake.id))
    specs = [(str(spec.get("sku") or "").strip().upper(), spec) for spec in lines]
    products = products_by_sku(sku for sku, _spec in specs)
    by_product = {line.product_id: line for line in stocktake.lines}
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    updates: list[tuple[Product, dict[str, Any]]] = []
    for sku, spec in specs:
        product = products.get(sku)
        code = _code(spec.get("reason_code"))
        if product is None:
            errors[sku or "sku"] = [_("Référence inconnue : %(sku)s.", sku=sku)]
            continue
        if sku in seen:
            errors[sku] = [_("Le produit %(sku)s apparaît plusieurs fois.", sku=sku)]
            continue
        seen.add(sku)
        if spec.get("reason_code") not in (None, "") and code is None:
            errors[sku] = [_("Motif inconnu : lost, damaged, stolen, found, count_error ou other.")]
            continue
        values: dict[str, Any] = {"reason_code": code, "comment": _comment(spec.get("comment"))}
        if product.serialized:
            checked = check_serials(national.serial_kind(product), spec.get("serials") or ())
            if checked.problems:
                errors[sku] = checked.problems
                continue
            counted = spec.get("counted")
            if counted is not None and counted != len(checked.serials):
                errors[sku] = [_("%(count)d numéro(s) scannés pour %(sku)s, %(counted)d compté(s) : scannez "
                                 "chaque unité.", count=len(checked.serials), sku=sku, counted=counted)]
                continue
            values.update(counted=len(checked.serials), counted_serials=checked.serials)
        else:
            counted = spec.get("counted")
            if spec.get("serials"):
                errors[sku] = [_("Le produit %(sku)s (%(name)s) n'a pas de numéro de série.", sku=sku,
                                 name=product.name)]
                continue
            if isinstance(counted, bool) or not isinstance(counted, int) or not 0 <= counted <= MAX_COUNT:
                errors[sku] = [_("%(sku)s : indiquez la quantité comptée (0 ou plus).", sku=sku)]
                continue
            values["counted"] = counted
        updates.append((product, values))
    if not specs:
        errors["lines"] = [_("Indiquez au moins une ligne.")]
    if errors:
        raise ValidationFailed(errors)
    for product, values in updates:
        line = by_product.get(product.id)
        if line is None:
            # Found on the shelf although the books hold none: a line expecting zero.
            line = StocktakeLine(relais_id=stocktake.relais_id, product_id=product.id, expected=0,
                                 expected_serials=[])
            stocktake.lines.append(line)
        for key, value in values.items():
            setattr(line, key, value)
    db.session.flush()
    return stocktake


def finalise(stocktake_id: int) -> Stocktake:
    """Turn every difference into a ledger adjustment with its coded reason, units included."""
    stocktake = get(stocktake_id, lock=True)
    if stocktake.status != StocktakeStatus.OPEN:
        raise Conflict(_("L'inventaire n° %(id)d est déjà finalisé.", id=stocktake.id))
    lines = sorted(stocktake.lines, key=lambda item: item.product_id)
    errors: dict[str, list[str]] = {}
    current = _expected(stocktake.location_id, stocktake.relais_id)
    for line in lines:
        sku = line.product.sku
        if line.counted is None:
            errors[sku] = [_("%(sku)s n'a pas été compté.", sku=sku)]
            continue
        line.expected, line.expected_serials = current.get(line.product_id, (0, []))
        if line.counted != line.expected and line.reason_code is None:
            errors[sku] = [_("%(sku)s : %(counted)d compté(s) pour %(expected)d attendu(s) ; indiquez "
                             "le motif de l'écart.", sku=sku, counted=line.counted, expected=line.expected)]
        elif line.counted != line.expected and line.reason_code == ReasonCode.OTHER and not line.comment:
            errors[sku] = [_("%(sku)s : précisez le motif « autre » en commentaire.", sku=sku)]
    if errors:
        raise ValidationFailed(errors)
    for line in lines:
        if line.product.serialized:
            _settle_units(stocktake, line, errors)
        elif line.counted is not None and line.counted != line.expected:
            _adjust(stocktake, line.product, line.counted - line.expected, line)
            line.outcome = {}
    if errors:
        raise ValidationFailed(errors)
    stocktake.status = StocktakeStatus.FINALISED
    stocktake.finalised_at = utcnow()
    stocktake.finalised_by_id = current_actor_id()
    return stocktake


def _note(stocktake: Stocktake, line: StocktakeLine) -> str:
    """The ledger's comment: which count, and what was written on the line."""
    note = _("Inventaire n° %(id)d", id=stocktake.id)
    return f"{note} : {line.comment}" if line.comment else note


def _adjust(stocktake: Stocktake, product: Product, delta: int, line: StocktakeLine) -> None:
    note, code = _note(stocktake, line), line.reason_code
    if stocktake.relais_id is not None:
        kind = RelaisMovementKind.LOSS if delta < 0 and code in LOSS_CODES else RelaisMovementKind.ADJUSTMENT
        ledger.move_relais(stocktake.relais_id, product, kind, delta, reference_id=stocktake.id, reason=note,
                           reason_code=code)
    else:
        ledger.move_national(product, MovementKind.ADJUSTMENT, on_hand_delta=delta,
                             location_id=stocktake.location_id, reason=note, reason_code=code)


def _settle_units(stocktake: Stocktake, line: StocktakeLine, errors: dict[str, list[str]]) -> None:
    """Write off the units not scanned, take back those found, move those found elsewhere."""
    product, note = line.product, _note(stocktake, line)
    scanned = set(line.counted_serials or [])
    missing = sorted(set(line.expected_serials) - scanned)
    extra = sorted(scanned - set(line.expected_serials))
    units = {unit.serial: unit for unit in db.session.scalars(
        select(SerialUnit).where(SerialUnit.product_id == product.id,
                                 SerialUnit.serial.in_(missing + extra))
        .order_by(SerialUnit.id).with_for_update()
    )} if missing or extra else {}
    found, moved, problems = [], [], []
    for serial in extra:
        unit = units.get(serial)
        if unit is None:
            problems.append(f"{serial}: " + _("inconnu : enregistrez-le par une réception"))
        elif unit.status in WRITTEN_OFF and unit.relais_id == stocktake.relais_id:
            found.append(unit)
        elif stocktake.relais_id is None and unit.status == UnitStatus.IN_STOCK:
            moved.append(unit)
        else:
            problems.append(f"{serial}: " + _("statut actuel : %(status)s", status=unit.status.value))
    if problems:
        errors[product.sku] = problems
        return
    status = WRITE_OFF.get(line.reason_code or ReasonCode.LOST, UnitStatus.LOST)
    delta = len(found) - len(missing)
    if delta:
        _adjust(stocktake, product, delta, line)
    for serial in missing:
        ledger.set_unit_status(units[serial], status, note=note, keep_relais=stocktake.relais_id is not None)
    for unit in found:
        if stocktake.relais_id is not None:
            ledger.set_unit_status(unit, UnitStatus.AT_RELAIS, relais_id=stocktake.relais_id, note=note)
        else:
            ledger.set_unit_status(unit, UnitStatus.IN_STOCK, location_id=stocktake.location_id, note=note)
    for unit in sorted(moved, key=lambda item: item.location_id or 0):
        ledger.move_national(product, MovementKind.TRANSFER_OUT, on_hand_delta=-1,
                             location_id=unit.location_id, reason=note, reason_code=line.reason_code)
        ledger.move_national(product, MovementKind.TRANSFER_IN, on_hand_delta=1,
                             location_id=stocktake.location_id, reason=note, reason_code=line.reason_code)
        ledger.set_unit_status(unit, UnitStatus.IN_STOCK, location_id=stocktake.location_id, note=note)
    line.outcome = {"lost": missing, "found": [unit.serial for unit in found],
                    "moved": [unit.serial for unit in moved]}
