"""Orders, their lines and history, payments and the Stripe records."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.tenancy import TenantScoped


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


class ShipmentStatus(enum.StrEnum):
    SHIPPED = "shipped"
    RECEIVED = "received"


class Shipment(TenantScoped, Model):
    """One parcel of an order (an order may leave in several), from one national location."""

    __tablename__ = "shipments"

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id"), index=True)
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stock_locations.id"))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[ShipmentStatus] = enum_column(ShipmentStatus, default=ShipmentStatus.SHIPPED)
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    shipped_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", order_by="ShipmentLine.id", cascade="all, delete-orphan")


class ShipmentLine(TenantScoped, Model):
    __tablename__ = "shipment_lines"
    __table_args__ = (
        UniqueConstraint("relais_id", "shipment_id", "order_line_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received >= 0 AND refused >= 0 AND received + refused <= quantity",
                        name="received_within_quantity"),
    )

    id: Mapped[intpk]
    shipment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Serials of the units in this parcel (serialized products).
    serials: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship(lazy="joined")
