"""The origin of a national receipt: its supplier, gift or purchase value, collection, and the
grade and data-wipe certificate of every refurbished device.

Called by `warehouse.national.receive`, under the national scope, before any unit is written:
a receipt whose origin is incomplete is refused whole (422 naming the field). Refurbished
devices (DEVICE_CATEGORIES) need a supplier, a grade and a wipe certificate, per receipt or
per unit; other goods (SIM cards, recharges) may omit the supplier: the product's usual
supplier is recorded instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from flask_babel import gettext as _
from sqlalchemy import BigInteger, String, Table, any_, bindparam, insert, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from relais_platform.audit.services import current_actor_id
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import DEVICE_CATEGORIES, Product
from relais_platform.stock.supply.models import (
    DONOR_KINDS,
    Collection,
    CollectionItem,
    Grade,
    Supplier,
    SupplyReceipt,
    UnitOrigin,
)
from relais_platform.stock.warehouse.models import SerialUnit

MAX_UNIT_VALUE_CENTS = 10_000_000
MAX_CERTIFICATE = 200


@dataclass(frozen=True)
class UnitDetail:
    grade: str | None = None
    wipe_certificate: str | None = None


@dataclass(frozen=True)
class Origin:
    """What the caller says about where the goods come from (all optional here)."""

    supplier_id: int | None = None
    donation: bool = False
    unit_value_cents: int | None = None
    collection_id: int | None = None
    grade: str | None = None
    wipe_certificate: str | None = None
    # Per unit, by serial: overrides the receipt's grade and certificate.
    units: Mapping[str, UnitDetail] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedOrigin:
    product: Product
    supplier: Supplier | None
    donation: bool
    unit_value_cents: int | None
    collection: Collection | None
    grade: Grade | None
    wipe_certificate: str | None
    units: dict[str, tuple[Grade | None, str | None]]

    @property
    def is_device(self) -> bool:
        return self.product.category in DEVICE_CATEGORIES

    @property
    def donor_id(self) -> int | None:
        if self.collection is not None:
            return self.collection.donor_id
        if self.supplier is not None and self.supplier.kind in DONOR_KINDS:
            return self.supplier.id
        return None


def _grade(errors: dict[str, list[str]], key: str, value: str | None) -> Grade | None:
    if value in (None, ""):
        return None
    try:
        return Grade(str(value).strip().upper())
    except ValueError:
        errors.setdefault(key, []).append(_("Grade attendu : A, B ou C."))
        return None


def _certificate(errors: dict[str, list[str]], key: str, value: str | None) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > MAX_CERTIFICATE:
        errors.setdefault(key, []).append(_("%(n)d caractères au plus.", n=MAX_CERTIFICATE))
    return text


def check(product: Product, origin: Origin | None) -> CheckedOrigin:
    """Every problem of the origin at once; the supplier defaults to the product's usual one
    for goods other than devices."""
    origin = origin or Origin()
    errors: dict[str, list[str]] = {}
    device = product.category in DEVICE_CATEGORIES
    supplier = None
    if origin.supplier_id is not None:
        supplier = db.session.get(Supplier, origin.supplier_id)
        if supplier is None:
            errors["supplier_id"] = [_("Fournisseur introuvable.")]
    elif device:
        errors["supplier_id"] = [
            _("Indiquez le fournisseur (reconditionneur) de ces appareils reconditionnés.")
        ]
    elif product.usual_supplier_id is not None:
        supplier = db.session.get(Supplier, product.usual_supplier_id)
    value = origin.unit_value_cents
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UNIT_VALUE_CENTS
    ):
        errors["unit_value_cents"] = [
            _("Valeur unitaire en centimes, entre 0 et %(max)d.", max=MAX_UNIT_VALUE_CENTS)
        ]
    grade = _grade(errors, "grade", origin.grade)
    certificate = _certificate(errors, "wipe_certificate", origin.wipe_certificate)
    units: dict[str, tuple[Grade | None, str | None]] = {}
    for serial, detail in origin.units.items():
        units[serial.strip().upper()] = (
            _grade(errors, "units", detail.grade),
            _certificate(errors, "units", detail.wipe_certificate),
        )
    if not device and (grade or certificate or units):
        errors.setdefault("grade", []).append(
            _("Grade et certificat d'effacement ne concernent que les appareils reconditionnés.")
        )
    collection = None
    if origin.collection_id is not None:
        collection = db.session.get(Collection, origin.collection_id)
        if collection is None:
            errors["collection_id"] = [_("Collecte introuvable.")]
        elif collection.closed_at is not None:
            errors["collection_id"] = [_("La collecte n° %(id)d est close.", id=collection.id)]
        elif collection.refurbisher_id is None:
            errors["collection_id"] = [
                _("La collecte n° %(id)d n'a pas encore été envoyée à un reconditionneur.", id=collection.id)
            ]
        elif supplier is not None and supplier.id != collection.refurbisher_id:
            errors["collection_id"] = [
                _(
                    "La collecte n° %(id)d a été envoyée à %(name)s : la "
                    "réception doit venir de ce reconditionneur.",
                    id=collection.id,
                    name=collection.refurbisher.name if collection.refurbisher else "",
                )
            ]
        elif not any(item.category == product.category for item in collection.items):
            errors["collection_id"] = [
                _("La collecte n° %(id)d ne comprend aucun article de cette catégorie.", id=collection.id)
            ]
    if errors:
        raise ValidationFailed(errors)
    return CheckedOrigin(
        product, supplier, bool(origin.donation), value, collection, grade, certificate, units
    )


def check_units(origin: CheckedOrigin, serials: Sequence[str]) -> None:
    """Each received device has a grade and a wipe certificate; listed units are received."""
    errors: dict[str, list[str]] = {}
    received = set(serials)
    strangers = sorted(set(origin.units) - received)
    if strangers:
        errors["units"] = [f"{serial}: " + _("absent de la réception") for serial in strangers]
    if origin.is_device:
        for key, index, message in (
            ("grade", 0, _("grade manquant (A, B ou C)")),
            ("wipe_certificate", 1, _("certificat d'effacement manquant")),
        ):
            default = origin.grade if index == 0 else origin.wipe_certificate
            if default is not None:
                continue
            missing = [serial for serial in serials if origin.units.get(serial, (None, None))[index] is None]
            if missing:
                shown = [f"{serial}: {message}" for serial in missing[:20]]
                if len(missing) > len(shown):
                    shown.append(_("… et %(count)d autre(s).", count=len(missing) - len(shown)))
                errors[key] = shown
    if errors:
        raise ValidationFailed(errors)


def check_quantity(origin: CheckedOrigin) -> None:
    """A non-serialized device receipt carries its grade and certificate itself."""
    if not origin.is_device:
        return
    errors: dict[str, list[str]] = {}
    if origin.grade is None:
        errors["grade"] = [_("Indiquez le grade (A, B ou C).")]
    if origin.wipe_certificate is None:
        errors["wipe_certificate"] = [_("Indiquez la référence du certificat d'effacement des données.")]
    if errors:
        raise ValidationFailed(errors)


def record(origin: CheckedOrigin, quantity: int, serials: Sequence[str] = ()) -> SupplyReceipt:
    """Write the receipt's origin, its units' origins and the collection's refurbished count."""
    receipt = SupplyReceipt(
        product_id=origin.product.id,
        quantity=quantity,
        supplier_id=origin.supplier.id if origin.supplier else None,
        collection_id=origin.collection.id if origin.collection else None,
        donation=origin.donation,
        unit_value_cents=origin.unit_value_cents,
        grade=origin.grade,
        wipe_certificate=origin.wipe_certificate,
        actor_id=current_actor_id(),
    )
    db.session.add(receipt)
    db.session.flush()
    if serials:
        _record_units(origin, receipt, serials)
    if origin.collection is not None:
        _count_refurbished(origin, quantity)
    return receipt


def _record_units(origin: CheckedOrigin, receipt: SupplyReceipt, serials: Sequence[str]) -> None:
    """One INSERT … SELECT for every unit; per-unit grades and certificates then overlay it."""
    table = cast(Table, UnitOrigin.__table__)
    db.session.execute(
        insert(table).from_select(
            [
                "unit_id",
                "receipt_id",
                "supplier_id",
                "donor_id",
                "collection_id",
                "grade",
                "wipe_certificate",
            ],
            select(
                SerialUnit.id,
                literal(receipt.id, BigInteger),
                literal(receipt.supplier_id, BigInteger),
                literal(origin.donor_id, BigInteger),
                literal(receipt.collection_id, BigInteger),
                literal(origin.grade, table.c.grade.type),
                literal(origin.wipe_certificate, String),
            ).where(
                SerialUnit.product_id == origin.product.id,
                SerialUnit.serial == any_(bindparam("serials", list(serials), type_=ARRAY(String))),
            ),
        )
    )
    for serial, (grade, certificate) in origin.units.items():
        values = {
            key: value
            for key, value in (("grade", grade), ("wipe_certificate", certificate))
            if value is not None
        }
        if values:
            unit_id = (
                select(SerialUnit.id)
                .where(SerialUnit.product_id == origin.product.id, SerialUnit.serial == serial)
                .scalar_subquery()
            )
            db.session.execute(update(table).where(table.c.unit_id == unit_id).values(**values))


def _count_refurbished(origin: CheckedOrigin, quantity: int) -> None:
    collection = origin.collection
    assert collection is not None
    item = db.session.scalar(
        select(CollectionItem)
        .where(
            CollectionItem.collection_id == collection.id, CollectionItem.category == origin.product.category
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert item is not None  # checked in `check`
    if item.refurbished + quantity > item.quantity:
        raise ValidationFailed.field(
            "collection_id",
            _(
                "La collecte n° %(id)d comptait %(collected)d article(s) de cette catégorie, dont "
                "%(done)d déjà reçu(s) : %(count)d de plus, c'est trop.",
                id=collection.id,
                collected=item.quantity,
                done=item.refurbished,
                count=quantity,
            ),
        )
    item.refurbished += quantity


def supplier_choices() -> list[tuple[str, str]]:
    """Every supplier, for the receipt and product forms."""
    return [
        (str(i), name)
        for i, name in db.session.execute(
            select(Supplier.id, Supplier.name).order_by(Supplier.name).limit(1000)
        )
    ]


def collection_choices() -> list[tuple[str, str]]:
    """Open collections already sent to a refurbisher: those a receipt may name."""
    rows = db.session.execute(
        select(Collection.id, Collection.collected_on, Supplier.name)
        .join(Supplier, Supplier.id == Collection.donor_id)
        .where(Collection.closed_at.is_(None), Collection.refurbisher_id.is_not(None))
        .order_by(Collection.collected_on.desc())
        .limit(200)
    )
    return [(str(i), f"n° {i} — {name} ({day:%d/%m/%Y})") for i, day, name in rows]
