"""Supply figures for the national team: receipts by supplier and kind, gifts and their
in-kind value per year, the reuse rate of collections, warranty failure rates.

A handful of grouped queries, whatever the volume; values are sums of quantity × unit value
of the receipts that carry one. Coaches and relais never reach them (national scope)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, extract, func, literal, select

from relais_platform.extensions import db
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.scope import national_scope
from relais_platform.stock.supply.models import (
    Collection,
    CollectionItem,
    ReturnOutcome,
    Supplier,
    SupplierReturn,
    SupplierReturnLine,
    SupplyReceipt,
    UnitOrigin,
)
from relais_platform.stock.warehouse.models import SerialUnit, SerialUnitEvent, UnitStatus

UNKNOWN = "unknown"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class SupplierReceipts:
    supplier_id: int | None
    name: str | None
    kind: str
    receipts: int
    units: int
    donated_units: int
    value_cents: int
    donated_value_cents: int


@dataclass(frozen=True)
class KindReceipts:
    kind: str
    receipts: int
    units: int
    value_cents: int


@dataclass(frozen=True)
class YearGifts:
    year: int
    units: int
    value_cents: int


@dataclass(frozen=True)
class Reuse:
    key: str
    label: str
    collected: int
    refurbished: int
    recycled: int

    @property
    def pending(self) -> int:
        return self.collected - self.refurbished - self.recycled

    @property
    def reuse_rate(self) -> float | None:
        return _rate(self.refurbished, self.collected)


@dataclass(frozen=True)
class Warranty:
    key: str
    label: str
    handed_over: int
    failures: int
    returned_to_supplier: int = 0
    repaired: int = 0
    replaced: int = 0
    scrapped: int = 0

    @property
    def failure_rate(self) -> float | None:
        return _rate(self.failures, self.handed_over)


@dataclass(frozen=True)
class SupplyFigures:
    by_supplier: list[SupplierReceipts]
    by_kind: list[KindReceipts]
    gifts_by_year: list[YearGifts]
    reuse_by_donor: list[Reuse]
    reuse_by_refurbisher: list[Reuse]
    reuse_by_year: list[Reuse]
    warranty_by_product: list[Warranty]
    warranty_by_refurbisher: list[Warranty]


def _value():
    return func.coalesce(func.sum(SupplyReceipt.quantity * SupplyReceipt.unit_value_cents), 0)


def _receipts() -> tuple[list[SupplierReceipts], list[KindReceipts]]:
    donated = SupplyReceipt.donation.is_(True)
    rows = db.session.execute(
        select(
            SupplyReceipt.supplier_id,
            Supplier.name,
            Supplier.kind,
            func.count(),
            func.sum(SupplyReceipt.quantity),
            func.coalesce(func.sum(SupplyReceipt.quantity).filter(donated), 0),
            _value(),
            func.coalesce(
                func.sum(SupplyReceipt.quantity * SupplyReceipt.unit_value_cents).filter(donated), 0
            ),
        )
        .outerjoin(Supplier, Supplier.id == SupplyReceipt.supplier_id)
        .group_by(SupplyReceipt.supplier_id, Supplier.name, Supplier.kind)
        .order_by(func.sum(SupplyReceipt.quantity).desc(), Supplier.name)
    ).all()
    by_supplier = [
        SupplierReceipts(
            sid,
            name,
            kind.value if kind else UNKNOWN,
            int(n),
            int(units),
            int(gifts),
            int(value),
            int(gift_value),
        )
        for sid, name, kind, n, units, gifts, value, gift_value in rows
    ]
    kinds: dict[str, list[int]] = {}
    for row in by_supplier:
        totals = kinds.setdefault(row.kind, [0, 0, 0])
        totals[0] += row.receipts
        totals[1] += row.units
        totals[2] += row.value_cents
    return by_supplier, [KindReceipts(kind, *totals) for kind, totals in sorted(kinds.items())]


def _gifts() -> list[YearGifts]:
    year = extract(
        "year", func.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"], SupplyReceipt.received_at)
    )
    rows = db.session.execute(
        select(year, func.sum(SupplyReceipt.quantity), _value())
        .where(SupplyReceipt.donation.is_(True))
        .group_by(year)
        .order_by(year.desc())
    ).all()
    return [YearGifts(int(y), int(units), int(value)) for y, units, value in rows]


def _reuse_figures() -> tuple[list[Reuse], list[Reuse], list[Reuse]]:
    donor = Supplier.__table__.alias("donor")
    refurbisher = Supplier.__table__.alias("refurbisher")
    year = extract("year", Collection.collected_on)

    def joined(alias, column):
        rows = db.session.execute(
            select(
                alias.c.id,
                alias.c.name,
                func.sum(CollectionItem.quantity),
                func.sum(CollectionItem.refurbished),
                func.sum(CollectionItem.recycled),
            )
            .select_from(Collection)
            .join(CollectionItem, CollectionItem.collection_id == Collection.id)
            .outerjoin(alias, alias.c.id == column)
            .group_by(alias.c.id, alias.c.name)
            .order_by(alias.c.name)
        ).all()
        return [
            Reuse(str(k) if k is not None else UNKNOWN, lab or "—", int(c), int(r), int(x))
            for k, lab, c, r, x in rows
        ]

    by_year = [
        Reuse(str(int(y)), str(int(y)), int(c), int(r), int(x))
        for y, c, r, x in db.session.execute(
            select(
                year,
                func.sum(CollectionItem.quantity),
                func.sum(CollectionItem.refurbished),
                func.sum(CollectionItem.recycled),
            )
            .select_from(Collection)
            .join(CollectionItem, CollectionItem.collection_id == Collection.id)
            .group_by(year)
            .order_by(year.desc())
        )
    ]
    return joined(donor, Collection.donor_id), joined(refurbisher, Collection.refurbisher_id), by_year


def _unit_flags():
    """Per unit ever handed over: whether it came back under warranty."""
    handed = SerialUnitEvent.to_status == UnitStatus.DISTRIBUTED
    failed = and_(
        SerialUnitEvent.from_status == UnitStatus.DISTRIBUTED,
        SerialUnitEvent.to_status.in_((UnitStatus.RETURNED, UnitStatus.DEFECTIVE)),
    )
    return (
        select(SerialUnitEvent.unit_id.label("unit_id"), func.bool_or(failed).label("failed"))
        .where(
            SerialUnitEvent.to_status.in_((UnitStatus.DISTRIBUTED, UnitStatus.RETURNED, UnitStatus.DEFECTIVE))
        )
        .group_by(SerialUnitEvent.unit_id)
        .having(func.bool_or(handed))
        .subquery()
    )


def _warranty() -> tuple[list[Warranty], list[Warranty]]:
    flags = _unit_flags()
    failures = func.count().filter(flags.c.failed)
    by_product = [
        Warranty(sku, name, int(n), int(f))
        for sku, name, n, f in db.session.execute(
            select(Product.sku, Product.name, func.count(), failures)
            .select_from(flags)
            .join(SerialUnit, SerialUnit.id == flags.c.unit_id)
            .join(Product, Product.id == SerialUnit.product_id)
            .group_by(Product.sku, Product.name)
            .order_by(Product.sku)
        )
    ]
    handed = {
        sid: (int(n), int(f))
        for sid, n, f in db.session.execute(
            select(UnitOrigin.supplier_id, func.count(), failures)
            .select_from(flags)
            .join(UnitOrigin, UnitOrigin.unit_id == flags.c.unit_id)
            .where(UnitOrigin.supplier_id.is_not(None))
            .group_by(UnitOrigin.supplier_id)
        )
    }
    outcomes: dict[int, dict[str, int]] = {}
    for sid, outcome, n in db.session.execute(
        select(
            SupplierReturn.supplier_id,
            func.coalesce(SupplierReturnLine.outcome, literal("pending")),
            func.count(),
        )
        .join(SupplierReturnLine, SupplierReturnLine.supplier_return_id == SupplierReturn.id)
        .group_by(SupplierReturn.supplier_id, SupplierReturnLine.outcome)
    ):
        outcomes.setdefault(sid, {})[str(getattr(outcome, "value", outcome))] = int(n)
    ids = sorted(set(handed) | set(outcomes))
    names = dict(
        db.session.execute(select(Supplier.id, Supplier.name).where(Supplier.id.in_(ids))).tuples().all()
    )
    by_refurbisher = []
    for sid in sorted(ids, key=lambda i: names.get(i, "")):
        counts = outcomes.get(sid, {})
        n, f = handed.get(sid, (0, 0))
        by_refurbisher.append(
            Warranty(
                str(sid),
                names.get(sid, "—"),
                n,
                f,
                returned_to_supplier=sum(counts.values()),
                repaired=counts.get(ReturnOutcome.REPAIRED.value, 0),
                replaced=counts.get(ReturnOutcome.REPLACED.value, 0),
                scrapped=counts.get(ReturnOutcome.SCRAPPED.value, 0),
            )
        )
    return by_product, by_refurbisher


def figures() -> SupplyFigures:
    national_scope("chiffres de l'approvisionnement")
    by_supplier, by_kind = _receipts()
    by_donor, by_refurbisher, by_year = _reuse_figures()
    warranty_product, warranty_refurbisher = _warranty()
    return SupplyFigures(
        by_supplier,
        by_kind,
        _gifts(),
        by_donor,
        by_refurbisher,
        by_year,
        warranty_product,
        warranty_refurbisher,
    )
