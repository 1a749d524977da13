"""Catalogue, national stock (levels + append-only ledger + serialized units), relais
inventory, orders and payments.

Stock levels are a cache of their ledger, updated in the same transaction as each movement;
`flask --app wsgi stock verify` rebuilds them from the ledgers and reports any drift.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.tenancy import PersonalData, TenantScoped
from relais_platform.tenants.models import Dimension


class Category(enum.StrEnum):
    SIM = "sim"
    RECHARGE = "recharge"
    LAPTOP = "laptop"
    SMARTPHONE = "smartphone"
    TABLET = "tablet"
    BASIC_PHONE = "basic_phone"
    KIT = "kit"
    OTHER = "other"


DEVICE_CATEGORIES = frozenset(
    {Category.LAPTOP, Category.SMARTPHONE, Category.TABLET, Category.BASIC_PHONE}
)


class SerialKind(enum.StrEnum):
    ICCID = "iccid"
    IMEI = "imei"
    SERIAL = "serial"


class Product(CreatedAt, Model):
    """A catalogue item (national, not tenant-owned)."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("serialized = (serial_kind IS NOT NULL)", name="serial_kind_iff_serialized"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price_non_negative"),
        CheckConstraint("max_resale_price_cents >= 0", name="max_resale_non_negative"),
        CheckConstraint("dimension IN ('connexion', 'equipement')", name="orderable_dimension"),
    )

    id: Mapped[intpk]
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = enum_column(Category)
    dimension: Mapped[Dimension] = enum_column(Dimension)
    serialized: Mapped[bool] = mapped_column(Boolean, default=False)
    serial_kind: Mapped[SerialKind | None] = enum_column(SerialKind, nullable=True)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    max_resale_price_cents: Mapped[int] = mapped_column(Integer)
    validity_days: Mapped[int | None] = mapped_column(Integer)
    data_gb: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    warranty_months: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"


class NationalStock(Model):
    """Stock levels of the national warehouse, one row per product (cache of the ledger)."""

    __tablename__ = "national_stock"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("on_hand >= reserved", name="never_oversold"),
    )

    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    product: Mapped[Product] = relationship()

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    ADJUSTMENT = "adjustment"
    RETURN = "return"


class StockMovement(Model):
    """The national ledger: append-only (UPDATE/DELETE refused by the database)."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_product_occurred", "product_id", "occurred_at"),)

    id: Mapped[intpk]
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                  default=utcnow)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    kind: Mapped[MovementKind] = enum_column(MovementKind)
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("orders.id"), index=True)
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)


class UnitStatus(enum.StrEnum):
    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    SHIPPED = "shipped"
    AT_RELAIS = "at_relais"
    DISTRIBUTED = "distributed"
    RETURNED = "returned"
    DEFECTIVE = "defective"
    LOST = "lost"


class SerialUnit(Model):
    """One serialized unit (SIM by ICCID, phone by IMEI, computer by serial number).

    Serials are unique per product across the whole network, so this national registry has
    no relais in its unique key; `relais_id` names the relais holding the unit (RLS: a relais
    sees only its own units, the national team all).
    """

    __tablename__ = "serial_units"
    __table_args__ = (
        UniqueConstraint("product_id", "serial"),
        Index("ix_serial_units_product_status", "product_id", "status"),
        # A scanned serial is looked up before its product is known.
        Index("ix_serial_units_serial", "serial"),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    serial: Mapped[str] = mapped_column(String(32))
    status: Mapped[UnitStatus] = enum_column(UnitStatus)
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("order_lines.id"),
                                                      index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)

    product: Mapped[Product] = relationship()


class SerialUnitEvent(Model):
    """Per-unit history: every status change, append-only."""

    __tablename__ = "serial_unit_events"

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("serial_units.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                  default=utcnow)
    from_status: Mapped[UnitStatus | None] = enum_column(UnitStatus, nullable=True,
                                                         check_name="from_status")
    to_status: Mapped[UnitStatus] = enum_column(UnitStatus, check_name="to_status")
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("orders.id"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class RelaisStock(TenantScoped, Model):
    """What a relais holds, per product (cache of its ledger)."""

    __tablename__ = "relais_stock"
    __table_args__ = (
        UniqueConstraint("relais_id", "product_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    product: Mapped[Product] = relationship()


class RelaisMovementKind(enum.StrEnum):
    RECEIPT = "receipt"  # goods of an order received
    DISTRIBUTION = "distribution"
    DISTRIBUTION_CANCELLED = "distribution_cancelled"
    LOSS = "loss"
    ADJUSTMENT = "adjustment"  # stock count difference declared in a monthly report
    RETURN = "return"  # back to the national stock (warranty, refusal)


class RelaisStockMovement(TenantScoped, Model):
    """A relais' inventory ledger: append-only."""

    __tablename__ = "relais_stock_movements"
    __table_args__ = (
        Index("ix_relais_stock_movements_relais_product_occurred", "relais_id", "product_id",
              "occurred_at"),
    )

    id: Mapped[intpk]
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                  default=utcnow)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    kind: Mapped[RelaisMovementKind] = enum_column(RelaisMovementKind)
    quantity_delta: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("orders.id"))
    # Id of the distribution (or report) that caused the movement, for traceability.
    reference_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ALLOCATED = "allocated"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    RECEIVED = "received"
    PARTIALLY_RECEIVED = "partially_received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PaymentRoute(enum.StrEnum):
    FREE = "free"  # zero amount: payment skipped
    CHECKOUT = "checkout"  # Stripe Checkout: card or SEPA Direct Debit (associations)
    INVOICE = "invoice"  # Stripe invoice paid by bank transfer (public bodies)
    MANUAL = "manual"  # recorded by the national team


class Order(TenantScoped, CreatedAt, Model):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status_created", "status", "created_at"),)

    id: Mapped[intpk]
    status: Mapped[OrderStatus] = enum_column(OrderStatus, default=OrderStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    placed_by_national: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    note: Mapped[str | None] = mapped_column(Text)
    total_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    payment_route: Mapped[PaymentRoute | None] = enum_column(PaymentRoute, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    allocated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    relais = relationship("Relais")


class OrderLine(TenantScoped, Model):
    """Requested, allocated, shipped, received and refused quantities kept apart."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("relais_id", "order_id", "product_id"),
        CheckConstraint("requested > 0", name="requested_positive"),
        CheckConstraint("allocated >= 0 AND allocated <= requested", name="allocated_within_requested"),
        CheckConstraint("shipped >= 0 AND shipped <= allocated", name="shipped_within_allocated"),
        CheckConstraint("received >= 0 AND refused >= 0 AND received + refused <= shipped",
                        name="received_within_shipped"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), index=True)
    requested: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Frozen when the order is submitted: later catalogue changes do not touch it.
    unit_price_cents: Mapped[int | None] = mapped_column(Integer)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    unusual_confirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class OrderEvent(TenantScoped, Model):
    """Every transition of an order: who, when, from, to. Append-only."""

    __tablename__ = "order_events"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                  default=utcnow)
    from_status: Mapped[OrderStatus | None] = enum_column(OrderStatus, nullable=True,
                                                          check_name="from_status")
    to_status: Mapped[OrderStatus] = enum_column(OrderStatus, check_name="to_status")
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class PaymentMethod(enum.StrEnum):
    STRIPE_CHECKOUT = "stripe_checkout"
    STRIPE_INVOICE = "stripe_invoice"
    MANUAL = "manual"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Payment(TenantScoped, CreatedAt, Model):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("relais_id", "stripe_object_id"),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id"), index=True)
    method: Mapped[PaymentMethod] = enum_column(PaymentMethod)
    status: Mapped[PaymentStatus] = enum_column(PaymentStatus, default=PaymentStatus.PENDING)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="eur", server_default="eur")
    # Checkout Session or Invoice id at Stripe.
    stripe_object_id: Mapped[str | None] = mapped_column(String(255))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StripeEvent(Model):
    """Webhook events, stored once by id (Stripe may deliver twice, out of order)."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                  default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class StripeCustomer(TenantScoped, Model):
    """The Stripe customer standing for a relais (reused across checkouts and invoices)."""

    __tablename__ = "stripe_customers"
    __table_args__ = (UniqueConstraint("relais_id"),)

    id: Mapped[intpk]
    customer_id: Mapped[str] = mapped_column(String(255))


# --- distributions and monthly stock reports (relais_platform.stock.distributions, .reports) --


class Programme(enum.StrEnum):
    STANDARD = "standard"
    CONNECT_REFUGEES = "connect_refugees"


class WarrantyOutcome(enum.StrEnum):
    RETURNED = "returned"  # works again or to be sent back: kept for follow-up
    DEFECTIVE = "defective"


class Distribution(PersonalData, CreatedAt, Model):
    """What a beneficiary (or an anonymous person) received from a relais.

    Personal data: it may name a beneficiary, so it is visible inside its relais only;
    the national team counts distributions from `relais_stock_movements`.
    `price_cents` is the price charged per unit (the cap is per unit).
    """

    __tablename__ = "distributions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("unit_id IS NULL OR quantity = 1", name="one_unit_per_serial"),
        CheckConstraint("(cancelled_at IS NULL) = (cancel_reason IS NULL)", name="cancel_has_reason"),
        # The relais' list, newest first, a page at a time.
        Index("ix_distributions_relais_date", "relais_id", "distributed_on", "id"),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("serial_units.id"), index=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    programme: Mapped[Programme] = enum_column(Programme, default=Programme.STANDARD)
    distributed_on: Mapped[date] = mapped_column(Date)
    beneficiary_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("beneficiaries.id"),
                                                       index=True)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    warranty_returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    warranty_outcome: Mapped[WarrantyOutcome | None] = enum_column(WarrantyOutcome, nullable=True)
    warranty_note: Mapped[str | None] = mapped_column(Text)

    product: Mapped[Product] = relationship(lazy="joined")
    unit: Mapped[SerialUnit | None] = relationship(lazy="joined")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class StockReport(TenantScoped, CreatedAt, Model):
    """A relais' monthly stock report (one per month); read-only once stored.

    An ordinary tenant table (no name in it): the national team reads who reported through
    its audited network scope.
    """

    __tablename__ = "stock_reports"
    __table_args__ = (
        UniqueConstraint("relais_id", "period"),
        CheckConstraint("extract(day from period) = 1", name="period_is_a_month"),
        Index("ix_stock_reports_period", "period"),
    )

    id: Mapped[intpk]
    # First day of the month reported.
    period: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    lines: Mapped[list[StockReportLine]] = relationship(
        back_populates="report", order_by="StockReportLine.id", cascade="all, delete-orphan"
    )


class StockReportLine(TenantScoped, Model):
    """One product of a report: the ledger's figures, the count, and what was declared.

    opening + received − distributed − losses + other = counted_closing − adjustment, where
    `other` is what the ledger recorded besides receipts, distributions and losses during the
    month (returns to the national stock, earlier adjustments) and `adjustment` is the
    difference declared with its reason.
    """

    __tablename__ = "stock_report_lines"
    __table_args__ = (
        UniqueConstraint("relais_id", "report_id", "product_id"),
        CheckConstraint("counted_closing >= 0", name="counted_non_negative"),
        CheckConstraint("losses >= 0", name="losses_non_negative"),
        CheckConstraint("opening + received - distributed - losses + other + adjustment = counted_closing",
                        name="formula_balances"),
        CheckConstraint("adjustment = 0 OR adjustment_reason IS NOT NULL", name="adjustment_has_reason"),
    )

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stock_reports.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    opening: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer)
    distributed: Mapped[int] = mapped_column(Integer)
    losses: Mapped[int] = mapped_column(Integer)
    loss_reason: Mapped[str | None] = mapped_column(Text)
    other: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    counted_closing: Mapped[int] = mapped_column(Integer)
    adjustment: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    adjustment_reason: Mapped[str | None] = mapped_column(Text)

    report: Mapped[StockReport] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


def _register_beneficiary_reference() -> None:
    from relais_platform.beneficiaries.registry import register_reference

    register_reference(Distribution.beneficiary_id)


_register_beneficiary_reference()
