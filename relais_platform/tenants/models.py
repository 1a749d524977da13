from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.orm import CreatedAt, Model, enum_column, intpk, utcnow


class RelaisKind(enum.StrEnum):
    CCAS = "ccas"
    CIAS = "cias"
    MDS = "mds"
    ASSOCIATION = "association"
    SECOURS_POPULAIRE = "secours_populaire"
    RESTOS_DU_COEUR = "restos_du_coeur"
    CROIX_ROUGE = "croix_rouge"
    CADA = "cada"
    CHRS = "chrs"
    ACCUEIL_DE_JOUR = "accueil_de_jour"
    CENTRE_SOCIAL = "centre_social"
    FRANCE_SERVICES = "france_services"
    CIDFF = "cidff"
    SIAE = "siae"
    OTHER = "other"


# Public bodies pay by bank transfer against an invoice rather than by card.
PUBLIC_BODY_KINDS = frozenset(
    {RelaisKind.CCAS, RelaisKind.CIAS, RelaisKind.MDS, RelaisKind.FRANCE_SERVICES}
)


class Dimension(enum.StrEnum):
    CONNEXION = "connexion"
    EQUIPEMENT = "equipement"
    ACCOMPAGNEMENT = "accompagnement"


class RelaisStatus(enum.StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Relais(CreatedAt, Model):
    """A partner structure; the tenant every tenant-owned row points to."""

    __tablename__ = "relais"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RelaisKind] = enum_column(RelaisKind)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(120))
    departement: Mapped[str] = mapped_column(String(3), index=True)
    dimensions: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    status: Mapped[RelaisStatus] = enum_column(RelaisStatus, index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    application_message: Mapped[str | None] = mapped_column(Text)
    coach_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", use_alter=True), index=True
    )
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    terms_accepted_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", use_alter=True)
    )
    # Set by the relais admin: every member must sign in with two-factor.
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    coach = relationship("User", foreign_keys=[coach_id], lazy="raise")

    @property
    def region(self) -> str:
        from relais_platform.tenants.geography import region_of

        return region_of(self.departement)

    @property
    def is_active(self) -> bool:
        return self.status == RelaisStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Relais {self.id} {self.name!r} {self.status}>"
