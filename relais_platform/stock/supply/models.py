"""Where devices and connection goods come from: suppliers (donors, collections, refurbishers,
operators, vendors), donors' collections of used devices, the origin of every national receipt
and of every unit it brought in, and the batches of faulty units sent back to a refurbisher.

These are national tables (no relais owns them). `unit_origins` and `suppliers` are readable
by every session, so that a relais' device passport can name the donor and the refurbisher;
receipts (values, gifts), collections and supplier returns are the national team's only.
The models import nothing but the catalogue: the warehouse records a receipt's origin."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.stock.catalogue.models import Category


class SupplierKind(enum.StrEnum):
    DONOR_COMPANY = "donor_company"
    DONOR_PUBLIC = "donor_public"
    COLLECTION = "collection"
    REFURBISHER = "refurbisher"
    OPERATOR = "operator"
    VENDOR = "vendor"


DONOR_KINDS = frozenset({SupplierKind.DONOR_COMPANY, SupplierKind.DONOR_PUBLIC, SupplierKind.COLLECTION})
# Who prepares devices and answers for them under warranty.
REFURBISHING_KINDS = frozenset({SupplierKind.REFURBISHER, SupplierKind.VENDOR})


class Grade(enum.StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Supplier(CreatedAt, Model):
    __tablename__ = "suppliers"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[SupplierKind] = enum_column(SupplierKind)
    siret: Mapped[str | None] = mapped_column(String(14))
    contact: Mapped[str | None] = mapped_column(Text)


class Collection(CreatedAt, Model):
    """A donor's batch of used devices, sent to a refurbisher, closed once reconciled."""

    __tablename__ = "supply_collections"

    id: Mapped[intpk]
    donor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("suppliers.id"), index=True)
    collected_on: Mapped[date] = mapped_column(Date)
    refurbisher_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("suppliers.id"), index=True)
    sent_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    donor: Mapped[Supplier] = relationship(foreign_keys=[donor_id], lazy="joined")
    refurbisher: Mapped[Supplier | None] = relationship(foreign_keys=[refurbisher_id], lazy="joined")
    items: Mapped[list[CollectionItem]] = relationship(
        back_populates="collection", order_by="CollectionItem.category", lazy="selectin"
    )


class CollectionItem(Model):
    """Per category: collected, refurbished (received back), recycled (set when closed)."""

    __tablename__ = "supply_collection_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "category"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refurbished >= 0 AND refurbished <= quantity", name="refurbished_within"),
        CheckConstraint("recycled >= 0 AND refurbished + recycled <= quantity", name="recycled_within"),
    )

    id: Mapped[intpk]
    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supply_collections.id"))
    category: Mapped[Category] = enum_column(Category)
    quantity: Mapped[int] = mapped_column(Integer)
    refurbished: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recycled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    collection: Mapped[Collection] = relationship(back_populates="items")


class SupplyReceipt(Model):
    """The origin of one national receipt: who supplied it, as a gift or bought, at what value."""

    __tablename__ = "supply_receipts"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_value_cents IS NULL OR unit_value_cents >= 0", name="value_non_negative"),
        Index("ix_supply_receipts_supplier_received", "supplier_id", "received_at"),
    )

    id: Mapped[intpk]
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    # None: a connection good received before any supplier was known for it.
    supplier_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("suppliers.id"))
    collection_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("supply_collections.id"), index=True
    )
    donation: Mapped[bool] = mapped_column(Boolean, default=False)
    unit_value_cents: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[Grade | None] = enum_column(Grade, nullable=True)
    wipe_certificate: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    supplier: Mapped[Supplier | None] = relationship(lazy="joined")


class UnitOrigin(Model):
    """Where one serialized unit came from: its receipt, grade and data-wipe certificate."""

    __tablename__ = "unit_origins"

    unit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("serial_units.id"), primary_key=True)
    receipt_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supply_receipts.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("suppliers.id"), index=True)
    # The collection's donor, or the supplier itself when it gave the unit: readable by the
    # relais holding the unit, unlike the collection.
    donor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("suppliers.id"))
    collection_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("supply_collections.id"))
    grade: Mapped[Grade | None] = enum_column(Grade, nullable=True)
    wipe_certificate: Mapped[str | None] = mapped_column(String(200))


class ReturnOutcome(enum.StrEnum):
    REPAIRED = "repaired"  # back into national stock
    REPLACED = "replaced"  # the refurbisher sent another unit, received as new
    SCRAPPED = "scrapped"


class SupplierReturn(CreatedAt, Model):
    """A return-merchandise batch of faulty units sent back to their refurbisher."""

    __tablename__ = "supplier_returns"

    id: Mapped[intpk]
    supplier_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("suppliers.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    supplier: Mapped[Supplier] = relationship(lazy="joined")
    lines: Mapped[list[SupplierReturnLine]] = relationship(
        back_populates="supplier_return", order_by="SupplierReturnLine.id", lazy="selectin"
    )


class SupplierReturnLine(Model):
    __tablename__ = "supplier_return_lines"
    __table_args__ = (
        UniqueConstraint("supplier_return_id", "unit_id"),
        CheckConstraint("(outcome IS NULL) = (answered_at IS NULL)", name="answer_dated"),
    )

    id: Mapped[intpk]
    supplier_return_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("supplier_returns.id"))
    unit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("serial_units.id"), index=True)
    outcome: Mapped[ReturnOutcome | None] = enum_column(ReturnOutcome, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replacement_unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("serial_units.id"))
    note: Mapped[str | None] = mapped_column(Text)

    supplier_return: Mapped[SupplierReturn] = relationship(back_populates="lines")
