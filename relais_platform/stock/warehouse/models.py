"""The national warehouse and the relais' inventories: levels, append-only ledgers, serialized
units and their history.

Stock levels are a cache of their ledger, updated in the same transaction as each movement;
`flask --app wsgi stock verify` rebuilds them from the ledgers and reports any drift."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.tenancy import TenantScoped


class ReasonCode(enum.StrEnum):
    """Why stock was lost or adjusted: the same codes everywhere (free text is a comment)."""

    LOST = "lost"
    DAMAGED = "damaged"
    STOLEN = "stolen"
    FOUND = "found"
    COUNT_ERROR = "count_error"
    OTHER = "other"


class StockLocation(CreatedAt, Model):
    """A named place holding national stock (central warehouse, regional hubs).

    Exactly one is the default: receipts, returns and shipments that name no location use it.
    """

    __tablename__ = "stock_locations"
    __table_args__ = (
        UniqueConstraint("name"),
        Index("uq_stock_locations_default", "is_default", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class LocationStock(Model):
    """On-hand stock of one product at one location (cache of the located ledger rows).

    Reservations stay network-wide (`NationalStock.reserved`): an allocation does not say
    where the goods will be taken from; the shipment does.
    """

    __tablename__ = "location_stock"
    __table_args__ = (CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),)

    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stock_locations.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


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
    # A transfer between locations: out at departure, in at arrival; the network-wide
    # on-hand quantity counts goods in transit, so these two never change it.
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


TRANSFER_KINDS = (MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN)


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
    # Where the on-hand change happened (none for reservations and releases).
    location_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stock_locations.id"),
                                                    index=True)
    reason_code: Mapped[ReasonCode | None] = enum_column(ReasonCode, nullable=True)


class UnitStatus(enum.StrEnum):
    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    SHIPPED = "shipped"
    AT_RELAIS = "at_relais"
    DISTRIBUTED = "distributed"
    RETURNED = "returned"
    DEFECTIVE = "defective"
    LOST = "lost"
    IN_TRANSIT = "in_transit"  # between two national locations


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
    # The national location holding the unit (in stock, reserved) or expecting it (in transit).
    location_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stock_locations.id"),
                                                    index=True)

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
    reason_code: Mapped[ReasonCode | None] = enum_column(ReasonCode, nullable=True)


class RelaisMonthlyDistribution(TenantScoped, Model):
    """Units a relais handed out of one product in one month (Europe/Paris), net of
    cancellations: folded from its ledger by a trigger as movements are appended (migration
    0019), so that the dashboards read months, not movements; `stock verify` checks it."""

    __tablename__ = "relais_monthly_distributions"
    __table_args__ = (Index("ix_relais_monthly_distributions_month", "month"),)

    relais_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("relais.id"), primary_key=True, index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger)
