"""Shared column types and helpers for the models."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

from sqlalchemy import BigInteger, CursorResult, DateTime, Delete, Enum, Update, event, func
from sqlalchemy.orm import Mapped, Mapper, mapped_column

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


# A moment in the past that stands for "now" while the demo loader writes a year of history
# through the services: ledgers are append-only, so history is written at its date rather
# than moved there afterwards. Never set while serving requests.
_clock: ContextVar[datetime | None] = ContextVar("clock", default=None)


def utcnow() -> datetime:
    return _clock.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """`utcnow()`, and the insert time of rows stamped by the database, read `moment` inside;
    what is pending is flushed before leaving, so that it is stamped with `moment` too."""
    token = _clock.set(moment.astimezone(UTC))
    try:
        yield
        db.session.flush()
    finally:
        _clock.reset(token)


@event.listens_for(Model, "before_insert", propagate=True)
def _stamp_with_clock(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    moment = _clock.get()
    if moment is None:
        return
    for name in ("occurred_at", "created_at"):
        if name in mapper.columns and getattr(target, name, None) is None:
            setattr(target, name, moment)


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
