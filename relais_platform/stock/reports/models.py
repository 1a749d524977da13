"""The monthly stock report of a relais and its lines."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse.models import ReasonCode
from relais_platform.tenancy import TenantScoped


class ReportStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # waiting for the national team's review
    ACCEPTED = "accepted"
    RETURNED = "returned"  # sent back: the relais admin corrects and submits it again


class StockReport(TenantScoped, CreatedAt, Model):
    """A relais' monthly stock report (one per month); read-only once stored, unless the
    national team returns it (the database enforces both, see migration 0018).

    An ordinary tenant table (no name in it): the national team reads who reported through
    its audited network scope.
    """

    __tablename__ = "stock_reports"
    __table_args__ = (
        UniqueConstraint("relais_id", "period"),
        CheckConstraint("extract(day from period) = 1", name="period_is_a_month"),
        Index("ix_stock_reports_period", "period"),
        Index("ix_stock_reports_status", "status"),
    )

    id: Mapped[intpk]
    # First day of the month reported.
    period: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    status: Mapped[ReportStatus] = enum_column(ReportStatus, default=ReportStatus.SUBMITTED,
                                               server_default=ReportStatus.SUBMITTED.value)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)

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
    loss_reason_code: Mapped[ReasonCode | None] = enum_column(ReasonCode, nullable=True,
                                                              check_name="loss_reason_code")
    adjustment_reason_code: Mapped[ReasonCode | None] = enum_column(ReasonCode, nullable=True,
                                                                    check_name="adjustment_reason_code")
    # Serialized products: the units lost (declared losses and a negative adjustment).
    lost_serials: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")

    report: Mapped[StockReport] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")
