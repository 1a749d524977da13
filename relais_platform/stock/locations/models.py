"""Transfers between national locations and stock counts (stocktakes)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse.models import ReasonCode, StockLocation


class TransferStatus(enum.StrEnum):
    SHIPPED = "shipped"  # left its location, in transit
    RECEIVED = "received"


class Transfer(CreatedAt, Model):
    """Goods sent from one national location to another (national table)."""

    __tablename__ = "transfers"
    __table_args__ = (CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),)

    id: Mapped[intpk]
    from_location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stock_locations.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stock_locations.id"), index=True)
    status: Mapped[TransferStatus] = enum_column(TransferStatus, default=TransferStatus.SHIPPED)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    from_location: Mapped[StockLocation] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[StockLocation] = relationship(foreign_keys=[to_location_id])
    lines: Mapped[list[TransferLine]] = relationship(
        back_populates="transfer", order_by="TransferLine.id", cascade="all, delete-orphan")


class TransferLine(Model):
    __tablename__ = "transfer_lines"
    __table_args__ = (
        UniqueConstraint("transfer_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[intpk]
    transfer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("transfers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    # Serials of the units sent (serialized products), to find them again at arrival.
    serials: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")

    transfer: Mapped[Transfer] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class StocktakeStatus(enum.StrEnum):
    OPEN = "open"  # count sheet printed, lines being entered
    FINALISED = "finalised"


class Stocktake(CreatedAt, Model):
    """A physical count of one national location or of one relais' stock.

    A custodian table, like `serial_units`: `relais_id` names the relais counted (RLS: a
    relais sees only its own counts), or is NULL for a national location.
    """

    __tablename__ = "stocktakes"
    __table_args__ = (
        CheckConstraint("(location_id IS NULL) <> (relais_id IS NULL)", name="one_holder"),
    )

    id: Mapped[intpk]
    location_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stock_locations.id"),
                                                    index=True)
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    status: Mapped[StocktakeStatus] = enum_column(StocktakeStatus, default=StocktakeStatus.OPEN)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    finalised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finalised_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    location: Mapped[StockLocation | None] = relationship()
    lines: Mapped[list[StocktakeLine]] = relationship(
        back_populates="stocktake", order_by="StocktakeLine.id", cascade="all, delete-orphan")


class StocktakeLine(Model):
    """One product of the count sheet: what the books expect, what was counted, and why
    they differ (custodian table, as its stocktake)."""

    __tablename__ = "stocktake_lines"
    __table_args__ = (
        # NULL (a national count) is one holder, like any relais.
        UniqueConstraint("relais_id", "stocktake_id", "product_id", postgresql_nulls_not_distinct=True),
        CheckConstraint("expected >= 0", name="expected_non_negative"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="counted_non_negative"),
    )

    id: Mapped[intpk]
    stocktake_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stocktakes.id"), index=True)
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    expected: Mapped[int] = mapped_column(Integer)
    expected_serials: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    counted: Mapped[int | None] = mapped_column(Integer)
    counted_serials: Mapped[list[str] | None] = mapped_column(JSONB)
    reason_code: Mapped[ReasonCode | None] = enum_column(ReasonCode, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text)
    # Units moved, lost or found when finalised: {"lost": [...], "found": [...]}.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    stocktake: Mapped[Stocktake] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    @property
    def difference(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected
