"""Shared column types and helpers for the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

from sqlalchemy import BigInteger, CursorResult, DateTime, Delete, Enum, Update, func
from sqlalchemy.orm import Mapped, mapped_column

from relais_platform.extensions import db

if TYPE_CHECKING:  # Flask-SQLAlchemy's db.Model is the declarative base below, built at runtime
    from relais_platform.extensions import Base as Model
else:
    Model = db.Model
intpk = Annotated[int, mapped_column(BigInteger, primary_key=True)]


def rows_affected(statement: Delete | Update) -> int:
    """Run a DELETE or an UPDATE and return how many rows it touched."""
    result = cast(CursorResult[Any], db.session.execute(statement))
    return result.rowcount or 0


def utcnow() -> datetime:
    return datetime.now(UTC)


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )


def enum_column(enum_cls: type[enum.Enum], *, check_name: str | None = None, **kwargs):
    """Store an enum as its value in a VARCHAR with a CHECK constraint (easy to extend).

    `check_name` tells apart two columns of the same enum in one table.
    """
    return mapped_column(
        Enum(
            enum_cls,
            name=check_name or enum_cls.__name__.lower(),
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
        ),
        **kwargs,
    )
