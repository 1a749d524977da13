"""Beneficiary registry and accompaniment (personal data: visible to its own relais only).

The fields are the minimum DOMAIN.md allows, nothing else. Rows are never deleted by an
erasure: they are anonymised in place so that every count built on them survives (see
`rights.anonymise_where`). Tables that reference `beneficiaries.id` (accompaniment here,
distributions in the stock package) register themselves for merges with
`registry.register_reference`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from relais_platform.bounds import EVENT_WINDOW
from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow
from relais_platform.tenancy import PersonalData, TenantScoped
from relais_platform.tenants.models import RelaisKind

# The search key: the trigram index and every search query spell it exactly like this, so
# that PostgreSQL recognises the indexed expression (a bound ' ' would not match). Bracketed
# as PostgreSQL stores it, so that autogenerate sees no difference.
NAME_KEY_SQL = "f_unaccent(lower((first_name || ' ') || last_name))"
CONNECTION_MONTHS = 12


class Language(enum.StrEnum):
    FR = "fr"
    EN = "en"
    AR = "ar"
    UK = "uk"
    RU = "ru"
    PS = "ps"  # Pashto
    PRS = "prs"  # Dari
    FA = "fa"
    TI = "ti"  # Tigrinya
    SO = "so"
    ES = "es"
    PT = "pt"
    RO = "ro"
    TR = "tr"
    KA = "ka"
    SQ = "sq"
    BN = "bn"
    OTHER = "other"


class Situation(enum.StrEnum):
    JOB_SEEKER = "job_seeker"
    EMPLOYED = "employed"
    STUDENT = "student"
    RETIRED = "retired"
    INACTIVE = "inactive"


class Housing(enum.StrEnum):
    HOUSED = "housed"
    HOSTED = "hosted"  # by family or friends
    EMERGENCY_SHELTER = "emergency_shelter"
    HOMELESS = "homeless"
    OTHER = "other"


class Banked(enum.StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Nationality(enum.StrEnum):
    """The only nationality information allowed: a group, never a country."""

    FRANCE = "france"
    EU = "eu"
    OUTSIDE_EU = "outside_eu"


# A referring structure is one of the relais kinds or one of these public services.
REFERRER_KINDS: tuple[str, ...] = (*(k.value for k in RelaisKind), "pole_emploi", "mission_locale",
                                   "caf", "hospital", "school")


class Referrer(TenantScoped, CreatedAt, Model):
    """A structure that sends people to the relais (« structure orienteuse »), per relais.

    Names of structures, not of people: counted by kind in the network's figures."""

    __tablename__ = "referrers"
    __table_args__ = (
        UniqueConstraint("relais_id", "name"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in REFERRER_KINDS) + ")",
                        name="known_kind"),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))


class Beneficiary(PersonalData, CreatedAt, Model):
    __tablename__ = "beneficiaries"
    __table_args__ = (
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_is_a_year"),
        CheckConstraint("connection_extension_months BETWEEN 1 AND 12", name="extension_range"),
        # Exactly one of a phone number or the "no phone" flag, until anonymised.
        CheckConstraint("anonymised_at IS NOT NULL OR (phone IS NOT NULL) <> no_phone",
                        name="phone_xor_no_phone"),
        # Labelled so that postgresql_ops can name it (a text() clause has no key).
        Index("ix_beneficiaries_name_trgm", literal_column(NAME_KEY_SQL).label("name_key"),
              postgresql_using="gin", postgresql_ops={"name_key": "gin_trgm_ops"}),
        Index("ix_beneficiaries_relais_last_seen", "relais_id", "last_seen_at"),
        # The registry listed by name, a page at a time, without sorting the whole relais.
        Index("ix_beneficiaries_relais_name", "relais_id", "last_name", "first_name", "id"),
    )

    id: Mapped[intpk]
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    phone: Mapped[str | None] = mapped_column(String(30))
    no_phone: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    language: Mapped[Language | None] = enum_column(Language, nullable=True)
    situation: Mapped[Situation | None] = enum_column(Situation, nullable=True)
    housing: Mapped[Housing | None] = enum_column(Housing, nullable=True)
    banked: Mapped[Banked | None] = enum_column(Banked, nullable=True)
    nationality: Mapped[Nationality | None] = enum_column(Nationality, nullable=True)
    referrer: Mapped[str | None] = mapped_column(String(200))
    referrer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("referrers.id"), index=True)
    # Factual only, visible to the relais only (the forms say so).
    note: Mapped[str | None] = mapped_column(Text)
    # Registration requires consent: its date is the proof.
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The solidarity connection period: from the first connection product handed over
    # (kept here by the distributions service), 12 months, plus one extension at most.
    connection_started_on: Mapped[date | None] = mapped_column(Date)
    connection_extension_months: Mapped[int | None] = mapped_column(SmallInteger)
    connection_extension_reason: Mapped[str | None] = mapped_column(Text)
    connection_extended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    connection_extended_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None

    @property
    def connection_until(self) -> date | None:
        """Last day connection products may be handed over (None before the first one)."""
        if self.connection_started_on is None:
            return None
        months = CONNECTION_MONTHS + (self.connection_extension_months or 0)
        return self.connection_started_on + relativedelta(months=months, days=-1)

    def __repr__(self) -> str:  # ids only: reprs end up in logs
        return f"<Beneficiary {self.id}>"


class Level(enum.StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class Need(enum.StrEnum):
    DEVICE_BASICS = "device_basics"
    SMARTPHONE = "smartphone"
    EMAIL = "email"
    INTERNET_SEARCH = "internet_search"
    ONLINE_ADMINISTRATION = "online_administration"
    HEALTH_SERVICES = "health_services"
    EMPLOYMENT = "employment"
    SECURITY = "security"
    ONLINE_SHOPPING = "online_shopping"
    COMMUNICATION = "communication"
    OTHER = "other"


class Diagnostic(PersonalData, CreatedAt, Model):
    """Digital-autonomy diagnostic, kept with its date (several over time)."""

    __tablename__ = "beneficiary_diagnostics"

    id: Mapped[intpk]
    beneficiary_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("beneficiaries.id"), index=True)
    level: Mapped[Level] = enum_column(Level)
    needs: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    assessed_on: Mapped[date] = mapped_column(Date, info={"window": EVENT_WINDOW})
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class SessionKind(enum.StrEnum):
    INITIATION = "initiation"
    PERMANENCE = "permanence"
    ATELIER_THEMATIQUE = "atelier_thematique"
    PARCOURS_SUR_MESURE = "parcours_sur_mesure"


class Theme(CreatedAt, Model):
    """A workshop theme (national list, readable by all): the seeds' themes, and those the
    national team adds. A theme in use is retired, never deleted."""

    __tablename__ = "themes"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class Parcours(TenantScoped, CreatedAt, Model):
    """A course of sessions (e.g. the 9-session initiation cycle), defined per relais."""

    __tablename__ = "parcours"
    __table_args__ = (
        UniqueConstraint("relais_id", "name"),
        CheckConstraint("sessions_required BETWEEN 1 AND 100", name="sessions_required_range"),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[SessionKind] = enum_column(SessionKind)
    sessions_required: Mapped[int] = mapped_column(Integer)


class AccompanimentSession(TenantScoped, CreatedAt, Model):
    """One accompaniment session. No name here: participants are in a personal table, so
    coaches and the national team may count sessions without reaching anyone."""

    __tablename__ = "accompaniment_sessions"
    __table_args__ = (
        CheckConstraint("anonymous_count >= 0", name="anonymous_count_non_negative"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="duration_range"),
        Index("ix_accompaniment_sessions_relais_held_on", "relais_id", "held_on"),
        CheckConstraint("(deleted_at IS NULL) = (delete_reason IS NULL)", name="delete_has_reason"),
    )

    id: Mapped[intpk]
    kind: Mapped[SessionKind] = enum_column(SessionKind)
    theme: Mapped[str | None] = mapped_column(String(32), ForeignKey("themes.code"), index=True)
    held_on: Mapped[date] = mapped_column(Date, info={"window": EVENT_WINDOW})
    duration_minutes: Mapped[int] = mapped_column(Integer)
    anonymous_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parcours_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("parcours.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # Deleted sessions stay for the audit and count nowhere.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    delete_reason: Mapped[str | None] = mapped_column(Text)


class Participation(PersonalData, Model):
    """A named beneficiary attended a session."""

    __tablename__ = "accompaniment_participants"
    __table_args__ = (UniqueConstraint("relais_id", "session_id", "beneficiary_id"),)

    id: Mapped[intpk]
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accompaniment_sessions.id"))
    beneficiary_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("beneficiaries.id"), index=True)


class ParcoursEnrolment(PersonalData, Model):
    """A beneficiary following a parcours; completed once its sessions are attended."""

    __tablename__ = "parcours_enrolments"
    __table_args__ = (UniqueConstraint("relais_id", "parcours_id", "beneficiary_id"),)

    id: Mapped[intpk]
    parcours_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("parcours.id"))
    beneficiary_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("beneficiaries.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
