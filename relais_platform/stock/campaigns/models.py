"""Emergency campaigns: national stock set aside for an operation, the needs relais declare,
and the orders created from the confirmed split."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.stock.catalogue.models import Product
from relais_platform.tenancy import TenantScoped


class CampaignStatus(enum.StrEnum):
    OPEN = "open"  # needs are declared until the closing date, then the split is proposed
    CONFIRMED = "confirmed"  # orders created


class Campaign(CreatedAt, Model):
    """A national table, readable by every relais (they see the campaigns open to them)."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("opens_on <= closes_on", name="dates_in_order"),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    free: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # {"kinds": [...], "departements": [...], "relais_ids": [...]}: every criterion given must hold.
    eligible: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[CampaignStatus] = enum_column(CampaignStatus, default=CampaignStatus.OPEN)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    products: Mapped[list[CampaignProduct]] = relationship(
        back_populates="campaign", order_by="CampaignProduct.id", cascade="all, delete-orphan")


class CampaignProduct(Model):
    __tablename__ = "campaign_products"
    __table_args__ = (
        UniqueConstraint("campaign_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[intpk]
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    campaign: Mapped[Campaign] = relationship(back_populates="products")
    product: Mapped[Product] = relationship(lazy="joined")


class CampaignNeed(TenantScoped, Model):
    """What one relais declares it needs (editable until the closing date)."""

    __tablename__ = "campaign_needs"
    __table_args__ = (UniqueConstraint("relais_id", "campaign_id"),)

    id: Mapped[intpk]
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id"), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # The order created when the split was confirmed.
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("orders.id"))

    lines: Mapped[list[CampaignNeedLine]] = relationship(
        back_populates="need", order_by="CampaignNeedLine.id", cascade="all, delete-orphan")


class CampaignNeedLine(TenantScoped, Model):
    __tablename__ = "campaign_need_lines"
    __table_args__ = (
        UniqueConstraint("relais_id", "need_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[intpk]
    need_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaign_needs.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    need: Mapped[CampaignNeed] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")
