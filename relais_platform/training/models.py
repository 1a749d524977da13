"""Professional training of relais staff, and coaching of each relais.

National catalogue (modules, sessions) is readable by everyone and written by the national
team. What concerns a relais' staff (enrolments, training records, surveys, the relais'
training path) is tenant-owned. Coaching rows are tenant-owned too, but relais staff only
read them (RLS), and coaching notes live in their own table that relais staff cannot read
at all.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.bounds import EVENT_WINDOW
from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.tenancy import TenantScoped


class ModuleFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"
    ELEARNING = "elearning"


class TrainingModule(CreatedAt, Model):
    """A module of the national catalogue."""

    __tablename__ = "training_modules"
    __table_args__ = (CheckConstraint("duration_hours > 0", name="duration_positive"),)

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    duration_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    format: Mapped[ModuleFormat] = enum_column(ModuleFormat)
    objectives: Mapped[str | None] = mapped_column(Text)
    prerequisites: Mapped[str | None] = mapped_column(Text)
    # Part of the default training path of every relais (the network's core modules).
    core: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    def __repr__(self) -> str:
        return f"<TrainingModule {self.code}>"


class TrainingSession(CreatedAt, Model):
    """A dated delivery of a module. Seat counters are kept by the database functions
    `training_seat_lock` / `training_seat_settle` (see migration 0003), the only writers
    allowed to see every relais' enrolments."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("location IS NOT NULL OR online_url IS NOT NULL", name="has_place"),
        CheckConstraint("enrolled_count >= 0 AND waitlisted_count >= 0", name="counts_non_negative"),
    )

    id: Mapped[intpk]
    module_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("training_modules.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True,
                                                info={"window": EVENT_WINDOW})
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                              info={"window": EVENT_WINDOW})
    location: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    trainer: Mapped[str | None] = mapped_column(String(200))
    # The trainer's own account (a coach or national user), if any: it keeps and signs the
    # attendance sheet of this session, as the national team may.
    trainer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    enrolled_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waitlisted_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_off_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # Cancelled as a whole by the national team before it started: takes no more enrolments.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    module: Mapped[TrainingModule] = relationship(lazy="joined")

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def seats_left(self) -> int:
        return max(0, self.capacity - self.enrolled_count)


class EnrolmentStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Enrolment(TenantScoped, CreatedAt, Model):
    """A staff member in a session; owned by the trainee's relais. Holds the attendance mark."""

    __tablename__ = "training_enrolments"
    __table_args__ = (
        UniqueConstraint("relais_id", "session_id", "user_id"),
        CheckConstraint("(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
                        name="position_iff_waitlisted"),
        CheckConstraint("present IS NULL OR status = 'enrolled'", name="attendance_of_enrolled"),
        Index("ix_training_enrolments_session_status", "session_id", "status", "waitlist_position"),
    )

    id: Mapped[intpk]
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("training_sessions.id"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    status: Mapped[EnrolmentStatus] = enum_column(EnrolmentStatus)
    waitlist_position: Mapped[int | None] = mapped_column(Integer)
    enrolled_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    present: Mapped[bool | None] = mapped_column(Boolean)
    attendance_marked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attendance_marked_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    session: Mapped[TrainingSession] = relationship(lazy="joined")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class TrainingRecord(TenantScoped, Model):
    """A completed module: the evidence kept for the training-quality audit."""

    __tablename__ = "training_records"
    __table_args__ = (
        UniqueConstraint("relais_id", "user_id", "session_id"),
        Index("ix_training_records_relais_module", "relais_id", "module_id", "completed_at"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("training_modules.id"))
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("training_sessions.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 default=utcnow)

    module: Mapped[TrainingModule] = relationship(lazy="joined")
    session: Mapped[TrainingSession] = relationship(lazy="joined")
    user = relationship("User", lazy="joined")


class SatisfactionSurvey(TenantScoped, Model):
    """One answer per training record; append-only (audit evidence)."""

    __tablename__ = "training_surveys"
    __table_args__ = (
        UniqueConstraint("relais_id", "record_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[intpk]
    record_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("training_records.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                   default=utcnow)

    record: Mapped[TrainingRecord] = relationship(lazy="joined")


class TrainingPathModule(TenantScoped, Model):
    """A module required of a relais. A relais without rows follows the core modules."""

    __tablename__ = "training_path_modules"
    __table_args__ = (UniqueConstraint("relais_id", "module_id"),)

    id: Mapped[intpk]
    module_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("training_modules.id"))

    module: Mapped[TrainingModule] = relationship(lazy="joined")


class CoachingKind(enum.StrEnum):
    VISIT = "visit"
    PHONE = "phone"
    VIDEO = "video"


class CoachingSession(TenantScoped, CreatedAt, Model):
    """A coach's contact with a relais. Relais staff may read it, never write it (RLS)."""

    __tablename__ = "coaching_sessions"
    __table_args__ = (Index("ix_coaching_sessions_relais_held", "relais_id", "held_on"),)

    id: Mapped[intpk]
    held_on: Mapped[date] = mapped_column(Date, info={"window": EVENT_WINDOW})
    kind: Mapped[CoachingKind] = enum_column(CoachingKind)
    topics: Mapped[str | None] = mapped_column(Text)
    coach_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    next_steps: Mapped[list[NextStep]] = relationship(
        back_populates="coaching_session", order_by="NextStep.id", lazy="selectin"
    )
    coach = relationship("User", lazy="joined")


class CoachingNote(TenantScoped, Model):
    """The notes of a coaching session: coaches and the national team only (RLS)."""

    __tablename__ = "coaching_notes"

    coaching_session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("coaching_sessions.id"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)


class NextStep(TenantScoped, CreatedAt, Model):
    __tablename__ = "coaching_next_steps"
    __table_args__ = (Index("ix_coaching_next_steps_open_due", "relais_id", "due_date"),)

    id: Mapped[intpk]
    coaching_session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("coaching_sessions.id"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date, info={"window": EVENT_WINDOW})
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The coach's follow-up reminder went out (the daily job sends it once).
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    coaching_session: Mapped[CoachingSession] = relationship(back_populates="next_steps")

    @property
    def done(self) -> bool:
        return self.done_at is not None


class CustomMilestone(TenantScoped, CreatedAt, Model):
    """A milestone a coach adds for one relais, with a due date."""

    __tablename__ = "coaching_milestones"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date, info={"window": EVENT_WINDOW})
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class RelaisEventSummary(TenantScoped, Model):
    """A relais' first and last event of one kind (a sign-in, a distribution, an order...),
    written by triggers on the facts in the same transaction (migration 0019): milestones and
    last activity read one row per relais and kind instead of millions of facts."""

    __tablename__ = "relais_event_summary"

    relais_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("relais.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
