"""Distributions: what a relais hands to a beneficiary, with serial and warranty."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.bounds import EVENT_WINDOW
from relais_platform.orm import CreatedAt, Model, enum_column, intpk
from relais_platform.stock.catalogue.models import Product
from relais_platform.stock.warehouse.models import SerialUnit
from relais_platform.tenancy import PersonalData


class Programme(enum.StrEnum):
    STANDARD = "standard"
    CONNECT_REFUGEES = "connect_refugees"


class WarrantyOutcome(enum.StrEnum):
    RETURNED = "returned"  # works again or to be sent back: kept for follow-up
    DEFECTIVE = "defective"


class Handover(PersonalData, CreatedAt, Model):
    """One act of handing several items to a registered person (« remise »): each line is a
    distribution pointing here, so every count built on distributions stays as it was."""

    __tablename__ = "handovers"

    id: Mapped[intpk]
    beneficiary_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("beneficiaries.id"), index=True)
    handed_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    lines: Mapped[list[Distribution]] = relationship(
        back_populates="handover", order_by="Distribution.id", lazy="selectin")

    @property
    def total_cents(self) -> int:
        return sum(line.price_cents * line.quantity for line in self.lines if not line.is_cancelled)


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
        # The partial months of a network-wide report (migration 0020).
        Index("ix_distributions_distributed_on", "distributed_on"),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("serial_units.id"), index=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    programme: Mapped[Programme] = enum_column(Programme, default=Programme.STANDARD)
    distributed_on: Mapped[date] = mapped_column(Date, info={"window": EVENT_WINDOW})
    beneficiary_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("beneficiaries.id"),
                                                       index=True)
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    warranty_returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    warranty_outcome: Mapped[WarrantyOutcome | None] = enum_column(WarrantyOutcome, nullable=True)
    warranty_note: Mapped[str | None] = mapped_column(Text)
    handover_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("handovers.id"), index=True)
    # A warranty exchange: the distribution whose faulty unit this one replaced.
    replaces_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("distributions.id"),
                                                    index=True)

    handover: Mapped[Handover | None] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")
    unit: Mapped[SerialUnit | None] = relationship(lazy="joined")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


def _register_beneficiary_reference() -> None:
    from relais_platform.beneficiaries.registry import register_free_text, register_reference

    register_reference(Distribution.beneficiary_id)
    # What the relais' staff typed about the hand-over of this person's device.
    register_free_text(Distribution.beneficiary_id, Distribution.cancel_reason, Distribution.warranty_note)
    register_reference(Handover.beneficiary_id)


_register_beneficiary_reference()
