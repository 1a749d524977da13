"""The catalogue: products, their categories and serial kinds, prices and caps."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from relais_platform.orm import CreatedAt, Model, enum_column, intpk
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
    # Recorded on a receipt that names no supplier (SIM cards and recharges: the operator).
    usual_supplier_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("suppliers.id"))

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"
