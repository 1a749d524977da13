"""Funders, their agreements (conventions: period, scope, targets) and earmarked stock.

National tables, not tenant-owned: an agreement spans many relais. Who may read one is
decided by `funders.services` (national: all; coach and relais admin: those covering them).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow


class FunderKind(enum.StrEnum):
    PUBLIC = "public"
    COMPANY = "company"
    FOUNDATION = "foundation"
    OTHER = "other"


class Funder(CreatedAt, Model):
    __tablename__ = "funders"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[FunderKind] = enum_column(FunderKind)


class Convention(CreatedAt, Model):
    """A funder's agreement. Scope: the listed relais, or the relais of the listed
    départements, or (neither) the whole network."""

    __tablename__ = "conventions"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period_order"),
        CheckConstraint("relais_ids IS NULL OR departements IS NULL", name="one_scope"),
    )

    id: Mapped[intpk]
    funder_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funders.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    relais_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    departements: Mapped[list[str] | None] = mapped_column(ARRAY(String(3)))
    # indicator or sku → target quantity
    targets: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    funder: Mapped[Funder] = relationship(lazy="joined")

    def covers(self, relais_id: int, departement: str) -> bool:
        if self.relais_ids is not None:
            return relais_id in self.relais_ids
        if self.departements is not None:
            return departement in self.departements
        return True


class EarmarkKind(enum.StrEnum):
    RECEIPT = "receipt"  # units received into national stock for the agreement (+)
    ALLOCATION = "allocation"  # units reserved for an order of a relais in scope (−)
    RELEASE = "release"  # an allocation reduced: units back to the agreement (+)


class EarmarkMovement(Model):
    """Ledger of earmarked units: the balance of (convention, product) is Σ quantity."""

    __tablename__ = "earmark_movements"
    __table_args__ = (CheckConstraint("quantity <> 0", name="non_zero"),)

    id: Mapped[intpk]
    convention_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("conventions.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), index=True)
    kind: Mapped[EarmarkKind] = enum_column(EarmarkKind)
    quantity: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("order_lines.id"), index=True)
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
