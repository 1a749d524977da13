"""Suppliers, collections and supplier returns (RMA): national services.

Each function opens the national scope (a relais session gets 403), flushes and never
commits; stock moves only through `warehouse.ledger` and `warehouse.national`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES, Category
from relais_platform.stock.scope import local_today, national_scope
from relais_platform.stock.supply.models import (
    DONOR_KINDS,
    REFURBISHING_KINDS,
    Collection,
    CollectionItem,
    ReturnOutcome,
    Supplier,
    SupplierKind,
    SupplierReturn,
    SupplierReturnLine,
    UnitOrigin,
)
from relais_platform.stock.supply.origins import Origin, UnitDetail
from relais_platform.stock.warehouse import ledger, national
from relais_platform.stock.warehouse.models import MovementKind, SerialUnit, UnitStatus
from relais_platform.stock.warehouse.serials import luhn_valid, split_serials

MAX_NAME = 200
MAX_CONTACT = 1000
MAX_COLLECTION_QUANTITY = 100_000
MAX_RETURN_UNITS = 1_000
_SIRET = re.compile(r"\d{14}")


# --- suppliers ------------------------------------------------------------------------


def create_supplier(data: Mapping[str, Any]) -> Supplier:
    national_scope("fournisseurs")
    errors: dict[str, list[str]] = {}
    name = (data.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        errors["name"] = [_("Indiquez un nom (%(n)d caractères au plus).", n=MAX_NAME)]
    try:
        kind = SupplierKind(str(data.get("kind")))
    except ValueError:
        errors["kind"] = [_("Choisissez un type de la liste.")]
    siret = re.sub(r"\s", "", data.get("siret") or "") or None
    if siret is not None and not (_SIRET.fullmatch(siret) and luhn_valid(siret)):
        errors["siret"] = [_("Un SIRET comporte 14 chiffres (clé de contrôle Luhn).")]
    contact = (data.get("contact") or "").strip() or None
    if contact is not None and len(contact) > MAX_CONTACT:
        errors["contact"] = [_("%(n)d caractères au plus.", n=MAX_CONTACT)]
    if not errors and db.session.scalar(select(Supplier.id).where(func.lower(Supplier.name) == name.lower())):
        errors["name"] = [_("Un fournisseur porte déjà ce nom.")]
    if errors:
        raise ValidationFailed(errors)
    supplier = Supplier(name=name, kind=kind, siret=siret, contact=contact)
    try:
        with db.session.begin_nested():
            db.session.add(supplier)
    except IntegrityError:
        raise ValidationFailed.field("name", _("Un fournisseur porte déjà ce nom.")) from None
    audit.record("supplier_created", target=supplier, details={"kind": kind.value})
    return supplier


def suppliers_query(kind: SupplierKind | None = None) -> Select[tuple[Supplier]]:
    national_scope("fournisseurs")
    stmt = select(Supplier)
    if kind is not None:
        stmt = stmt.where(Supplier.kind == kind)
    return stmt.order_by(Supplier.name, Supplier.id)


def all_suppliers(kinds: frozenset[SupplierKind] | None = None) -> list[Supplier]:
    """For the forms' drop-down lists."""
    stmt = select(Supplier).order_by(Supplier.name)
    if kinds is not None:
        stmt = stmt.where(Supplier.kind.in_(kinds))
    return list(db.session.scalars(stmt.limit(1000)))


def get_supplier(
    supplier_id: int | None, *, field: str = "supplier_id", kinds: frozenset[SupplierKind] | None = None
) -> Supplier:
    """A supplier named in a request: unknown or of the wrong kind → 422 on that field."""
    supplier = db.session.get(Supplier, supplier_id) if isinstance(supplier_id, int) else None
    if supplier is None:
        raise ValidationFailed.field(field, _("Fournisseur introuvable."))
    if kinds is not None and supplier.kind not in kinds:
        raise ValidationFailed.field(
            field,
            _(
                "%(name)s n'est pas un fournisseur de ce type (%(kinds)s).",
                name=supplier.name,
                kinds=", ".join(sorted(k.value for k in kinds)),
            ),
        )
    return supplier


# --- collections ----------------------------------------------------------------------


def _items(raw: Any) -> list[tuple[Category, int]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValidationFailed.field("items", _("Indiquez au moins une catégorie et sa quantité."))
    problems: list[str] = []
    seen: dict[Category, int] = {}
    for index, item in enumerate(raw, start=1):
        item = item if isinstance(item, Mapping) else {}
        try:
            category = Category(str(item.get("category")))
        except ValueError:
            problems.append(_("Ligne %(n)d : catégorie inconnue.", n=index))
            continue
        if category not in DEVICE_CATEGORIES:
            problems.append(_("Ligne %(n)d : une collecte ne comprend que des appareils.", n=index))
            continue
        quantity = item.get("quantity")
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 0 < quantity <= MAX_COLLECTION_QUANTITY
        ):
            problems.append(
                _("Ligne %(n)d : quantité entre 1 et %(max)d attendue.", n=index, max=MAX_COLLECTION_QUANTITY)
            )
            continue
        if category in seen:
            problems.append(_("Ligne %(n)d : catégorie déjà indiquée.", n=index))
            continue
        seen[category] = quantity
    if problems:
        raise ValidationFailed({"items": problems})
    return list(seen.items())


def create_collection(data: Mapping[str, Any]) -> Collection:
    national_scope("collectes")
    errors: dict[str, list[str]] = {}
    donor = refurbisher = None
    try:
        donor = get_supplier(data.get("donor_id"), field="donor_id", kinds=DONOR_KINDS)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if data.get("refurbisher_id") is not None:
        try:
            refurbisher = get_supplier(
                data.get("refurbisher_id"), field="refurbisher_id", kinds=REFURBISHING_KINDS
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
    collected_on = data.get("collected_on")
    if not isinstance(collected_on, date) or collected_on > local_today():
        errors["collected_on"] = [_("Indiquez la date de la collecte (pas dans le futur).")]
    try:
        items = _items(data.get("items"))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    note = (data.get("note") or "").strip() or None
    if errors:
        raise ValidationFailed(errors)
    assert donor is not None
    collection = Collection(
        donor=donor,
        collected_on=collected_on,
        refurbisher=refurbisher,
        sent_on=collected_on if refurbisher else None,
        note=note,
        created_by_id=current_actor_id(),
        items=[CollectionItem(category=c, quantity=q) for c, q in items],
    )
    db.session.add(collection)
    db.session.flush()
    audit.record(
        "collection_created",
        target=collection,
        details={"donor_id": donor.id, "items": {c.value: q for c, q in items}},
    )
    return collection


def get_collection(collection_id: int, *, lock: bool = False) -> Collection:
    national_scope("collectes")
    stmt = select(Collection).where(Collection.id == collection_id)
    if lock:
        stmt = stmt.with_for_update(of=Collection).execution_options(populate_existing=True)
    collection = db.session.scalar(stmt)
    if collection is None:
        raise NotFound(_("Collecte introuvable."))
    return collection


def collections_query(donor_id: int | None = None, open_only: bool = False) -> Select[tuple[Collection]]:
    national_scope("collectes")
    stmt = select(Collection)
    if donor_id is not None:
        stmt = stmt.where(Collection.donor_id == donor_id)
    if open_only:
        stmt = stmt.where(Collection.closed_at.is_(None))
    return stmt.order_by(Collection.collected_on.desc(), Collection.id.desc())


def send_collection(collection_id: int, refurbisher_id: Any, sent_on: date | None = None) -> Collection:
    """The collected devices leave for a refurbisher (or are sent to another before any return)."""
    collection = get_collection(collection_id, lock=True)
    refurbisher = get_supplier(refurbisher_id, field="refurbisher_id", kinds=REFURBISHING_KINDS)
    if collection.closed_at is not None:
        raise Conflict(_("La collecte n° %(id)d est close.", id=collection.id))
    if any(item.refurbished for item in collection.items) and collection.refurbisher_id != refurbisher.id:
        raise Conflict(
            _(
                "Des appareils de la collecte n° %(id)d sont déjà revenus de %(name)s.",
                id=collection.id,
                name=collection.refurbisher.name if collection.refurbisher else "",
            )
        )
    day = sent_on or local_today()
    if day < collection.collected_on or day > local_today():
        raise ValidationFailed.field("sent_on", _("Date d'envoi entre la collecte et aujourd'hui."))
    collection.refurbisher, collection.sent_on = refurbisher, day
    audit.record("collection_sent", target=collection, details={"refurbisher_id": refurbisher.id})
    return collection


def close_collection(collection_id: int) -> Collection:
    """Reconcile: what did not come back refurbished was recycled (not reusable)."""
    collection = get_collection(collection_id, lock=True)
    if collection.closed_at is not None:
        raise Conflict(_("La collecte n° %(id)d est déjà close.", id=collection.id))
    if collection.refurbisher_id is None:
        raise Conflict(_("La collecte n° %(id)d n'a pas été envoyée à un reconditionneur.", id=collection.id))
    for item in collection.items:
        item.recycled = item.quantity - item.refurbished
    collection.closed_at = utcnow()
    audit.record(
        "collection_closed",
        target=collection,
        details={item.category.value: [item.refurbished, item.recycled] for item in collection.items},
    )
    return collection


# --- supplier returns -----------------------------------------------------------------


def _reject(field: str, problems: list[str]) -> ValidationFailed:
    return ValidationFailed({field: problems[: national.MAX_REPORTED_PROBLEMS]})


def _lock_units_by_serial(serials: Sequence[str], field: str = "serials") -> list[SerialUnit]:
    """Units named only by their serial (one product each), row-locked; 422 naming unknowns."""
    wanted: list[str] = []
    for serial in split_serials(serials):
        serial = serial.strip().upper()
        if serial not in wanted:
            wanted.append(serial)
    if not wanted:
        raise ValidationFailed.field(field, _("Aucun numéro saisi."))
    if len(wanted) > MAX_RETURN_UNITS:
        raise ValidationFailed.field(field, _("%(n)d numéros au plus par retour.", n=MAX_RETURN_UNITS))
    units: dict[str, list[SerialUnit]] = {}
    for unit in db.session.scalars(
        select(SerialUnit)
        .where(SerialUnit.serial == any_(bindparam("wanted", wanted, type_=ARRAY(String))))
        .order_by(SerialUnit.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        units.setdefault(unit.serial, []).append(unit)
    problems = []
    for serial in wanted:
        found = units.get(serial, [])
        if not found:
            problems.append(f"{serial}: " + _("unité inconnue"))
        elif len(found) > 1:
            problems.append(f"{serial}: " + _("plusieurs produits portent ce numéro"))
    if problems:
        raise _reject(field, problems)
    return [units[serial][0] for serial in wanted]


def create_return(supplier_id: Any, serials: Sequence[str]) -> SupplierReturn:
    """Send faulty units, back at the national warehouse, to the refurbisher that prepared them."""
    national_scope("retours fournisseur")
    supplier = get_supplier(supplier_id, kinds=REFURBISHING_KINDS)
    units = _lock_units_by_serial(serials)
    ids = [unit.id for unit in units]
    origins = dict(
        db.session.execute(
            select(UnitOrigin.unit_id, UnitOrigin.supplier_id).where(UnitOrigin.unit_id.in_(ids))
        )
        .tuples()
        .all()
    )
    pending = set(
        db.session.scalars(
            select(SupplierReturnLine.unit_id).where(
                SupplierReturnLine.unit_id.in_(ids),
                (SupplierReturnLine.outcome.is_(None))
                | (SupplierReturnLine.outcome != ReturnOutcome.REPAIRED),
            )
        )
    )
    problems = []
    for unit in units:
        if unit.status != UnitStatus.DEFECTIVE or unit.relais_id is not None:
            problems.append(
                f"{unit.serial}: "
                + _("seule une unité défectueuse revenue au stock national repart chez le fournisseur")
            )
        elif unit.id in pending:
            problems.append(f"{unit.serial}: " + _("déjà renvoyée au fournisseur"))
        elif origins.get(unit.id) not in (None, supplier.id):
            problems.append(f"{unit.serial}: " + _("préparée par un autre fournisseur"))
    if problems:
        raise _reject("serials", problems)
    batch = SupplierReturn(
        supplier=supplier,
        created_by_id=current_actor_id(),
        lines=[SupplierReturnLine(unit_id=unit.id) for unit in units],
    )
    db.session.add(batch)
    db.session.flush()
    for unit in units:
        ledger.set_unit_status(
            unit,
            UnitStatus.DEFECTIVE,
            note=_("Renvoyée à %(name)s (retour fournisseur n° %(id)d)", name=supplier.name, id=batch.id),
        )
    audit.record(
        "supplier_return_created", target=batch, details={"supplier_id": supplier.id, "unit_ids": ids}
    )
    return batch


def get_return(return_id: int) -> SupplierReturn:
    national_scope("retours fournisseur")
    batch = db.session.get(SupplierReturn, return_id)
    if batch is None:
        raise NotFound(_("Retour fournisseur introuvable."))
    return batch


def returns_query() -> Select[tuple[SupplierReturn]]:
    national_scope("retours fournisseur")
    return select(SupplierReturn).order_by(SupplierReturn.created_at.desc(), SupplierReturn.id.desc())


def return_units(batch: SupplierReturn) -> dict[int, SerialUnit]:
    ids = [line.unit_id for line in batch.lines] + [
        line.replacement_unit_id for line in batch.lines if line.replacement_unit_id
    ]
    return {unit.id: unit for unit in db.session.scalars(select(SerialUnit).where(SerialUnit.id.in_(ids)))}


def answer_return(return_id: int, answers: Sequence[Mapping[str, Any]]) -> SupplierReturn:
    """The refurbisher's answer per unit: repaired (back into national stock), replaced (the
    new unit is received with its grade and certificate), or scrapped."""
    batch = get_return(return_id)
    if not answers:
        raise ValidationFailed.field("answers", _("Indiquez au moins une réponse."))
    units = return_units(batch)
    open_lines = {units[line.unit_id].serial: line for line in batch.lines if line.outcome is None}
    problems: list[str] = []
    planned: list[tuple[SupplierReturnLine, ReturnOutcome, Mapping[str, Any]]] = []
    for answer in answers:
        serial = str(answer.get("serial") or "").strip().upper()
        line = open_lines.pop(serial, None)
        if line is None:
            problems.append(f"{serial}: " + _("pas en attente de réponse dans ce retour"))
            continue
        try:
            outcome = ReturnOutcome(str(answer.get("outcome")))
        except ValueError:
            problems.append(f"{serial}: " + _("réponse attendue : repaired, replaced ou scrapped"))
            continue
        if outcome == ReturnOutcome.REPLACED and not (answer.get("replacement_serial") or "").strip():
            problems.append(f"{serial}: " + _("indiquez le numéro de l'unité de remplacement"))
            continue
        planned.append((line, outcome, answer))
    if problems:
        raise _reject("answers", problems)
    for line, outcome, answer in planned:
        _apply_answer(batch, line, units[line.unit_id], outcome, answer)
    audit.record(
        "supplier_return_answered",
        target=batch,
        details={str(line.unit_id): outcome.value for line, outcome, _a in planned},
    )
    return batch


def _apply_answer(
    batch: SupplierReturn,
    line: SupplierReturnLine,
    unit: SerialUnit,
    outcome: ReturnOutcome,
    answer: Mapping[str, Any],
) -> None:
    note = (answer.get("note") or "").strip() or None
    name = batch.supplier.name
    if outcome == ReturnOutcome.REPAIRED:
        product = unit.product
        level = ledger.lock_national_levels([product.id])[product.id]
        ledger.move_national(
            product,
            MovementKind.RETURN,
            on_hand_delta=1,
            level=level,
            reason=_("Réparée par %(name)s (retour fournisseur n° %(id)d)", name=name, id=batch.id),
        )
        ledger.set_unit_status(unit, UnitStatus.IN_STOCK, note=_("Réparée par %(name)s", name=name))
    elif outcome == ReturnOutcome.REPLACED:
        serial = str(answer["replacement_serial"]).strip().upper()
        try:
            national.receive(
                unit.product,
                serials=[serial],
                reason=_("Remplacement de %(serial)s par %(name)s", serial=unit.serial, name=name),
                origin=Origin(
                    supplier_id=batch.supplier_id,
                    grade=answer.get("grade"),
                    wipe_certificate=answer.get("wipe_certificate"),
                    units={serial: UnitDetail()},
                ),
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                {
                    "answers": [
                        f"{unit.serial}: {message}"
                        for messages in exc.errors.values()
                        for message in messages
                    ]
                }
            ) from None
        line.replacement_unit_id = db.session.scalar(
            select(SerialUnit.id).where(SerialUnit.product_id == unit.product_id, SerialUnit.serial == serial)
        )
        ledger.set_unit_status(
            unit,
            UnitStatus.DEFECTIVE,
            note=_("Remplacée par %(name)s : %(serial)s", name=name, serial=serial),
        )
    else:
        ledger.set_unit_status(unit, UnitStatus.DEFECTIVE, note=_("Mise au rebut par %(name)s", name=name))
    line.outcome, line.answered_at, line.note = outcome, utcnow(), note
