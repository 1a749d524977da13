"""Events and governance participations of a relais, and the files of annual-bilan exports."""

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
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import BIT, JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from relais_platform.bounds import EVENT_WINDOW
from relais_platform.orm import CreatedAt, Model, enum_column, intpk
from relais_platform.tenancy import PersonalData, TenantScoped


class EventKind(enum.StrEnum):
    EVENT = "event"  # organised by the relais (workshop day, open day, forum...)
    GOVERNANCE = "governance"  # participation in a governance body or working group


class ReportingEvent(TenantScoped, CreatedAt, Model):
    """No name of a person here: coaches and the national team count these rows."""

    __tablename__ = "reporting_events"
    __table_args__ = (
        CheckConstraint("participants IS NULL OR participants BETWEEN 0 AND 100000",
                        name="participants_range"),
        Index("ix_reporting_events_relais_held_on", "relais_id", "held_on", "id"),
    )

    id: Mapped[intpk]
    kind: Mapped[EventKind] = enum_column(EventKind)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, info={"window": EVENT_WINDOW})
    participants: Mapped[int | None] = mapped_column(Integer)
    # Governance: the body or working group (e.g. "Comité départemental d'inclusion numérique").
    body: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class ReportExport(CreatedAt, Model):
    """An export of the annual bilan: the job's progress mirrored here, then the file.

    Not `TenantScoped`: national and coach exports belong to no relais (relais_id NULL), a
    relais user's to its relais. Row-level security keeps a relais to its own rows; the
    service only ever serves a file to the user who asked for it.
    """

    __tablename__ = "report_exports"
    __table_args__ = (
        CheckConstraint("format IN ('pdf', 'xlsx', 'csv')", name="known_format"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        Index("ix_report_exports_created_at", "created_at"),
    )

    id: Mapped[intpk]
    requested_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    format: Mapped[str] = mapped_column(String(8))
    # What the bilan covers: {"kind": ..., "relais_id"?, "departement"?, "region"?}.
    scope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[ExportStatus] = enum_column(ExportStatus, default=ExportStatus.QUEUED)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    job_id: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(120))
    # Loaded only when the file is served, never with the status.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Summaries the bilan and the activity report read instead of millions of facts, folded from
# the facts by triggers in the same transaction (migration 0020) and only ever written there;
# `flask --app wsgi reporting verify` compares them with the facts.
def _relais_key() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("relais.id", ondelete="CASCADE"), primary_key=True)


class ReportingPersonDays(PersonalData, Model):
    """The days of one year on which a person was reached (one bit a day): a session still
    standing, or something received and not cancelled."""

    __tablename__ = "reporting_person_days"

    relais_id: Mapped[int] = _relais_key()
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("beneficiaries.id", ondelete="CASCADE"), primary_key=True, index=True)
    days: Mapped[str] = mapped_column(BIT(366))
    # The person's categories, copied here by triggers as they change (coded values only).
    situation: Mapped[str] = mapped_column(String(32))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    housing: Mapped[str] = mapped_column(String(32))
    banked: Mapped[str] = mapped_column(String(32))
    nationality: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(32))
    referrer_kind: Mapped[str] = mapped_column(String(32))


class ReportingPeopleCount(TenantScoped, Model):
    """People reached in a calendar year per category value (dimension `named`: all of them):
    the whole-year reports read these instead of one row per person."""

    __tablename__ = "reporting_people_counts"

    relais_id: Mapped[int] = _relais_key()
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    people: Mapped[int] = mapped_column(BigInteger)


class ReportingDistributionMonth(TenantScoped, Model):
    """Quantities handed out and anonymous distributions per month, product and programme."""

    __tablename__ = "reporting_distribution_months"

    relais_id: Mapped[int] = _relais_key()
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id"), primary_key=True)
    programme: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    anonymous: Mapped[int] = mapped_column(BigInteger)


class ReportingSessionMonth(TenantScoped, Model):
    """Sessions, anonymous attendances and minutes of accompaniment per month, kind and theme."""

    __tablename__ = "reporting_session_months"

    relais_id: Mapped[int] = _relais_key()
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    theme: Mapped[str] = mapped_column(String(32), primary_key=True)
    sessions: Mapped[int] = mapped_column(BigInteger)
    anonymous: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[int] = mapped_column(BigInteger)


class ReportingRelaisDays(TenantScoped, Model):
    """The days of one year on which a relais handed something out (its ledger's movements)."""

    __tablename__ = "reporting_relais_days"

    relais_id: Mapped[int] = _relais_key()
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    days: Mapped[str] = mapped_column(BIT(366))
