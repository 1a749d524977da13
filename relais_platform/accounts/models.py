from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relais_platform.crypto import EncryptedText
from relais_platform.orm import CreatedAt, Model, enum_column, intpk


class Role(enum.StrEnum):
    NATIONAL = "national"
    COACH = "coach"
    RELAIS_ADMIN = "relais_admin"
    RELAIS_WORKER = "relais_worker"

    @property
    def is_relais_role(self) -> bool:
        return self in (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)

    @property
    def requires_two_factor(self) -> bool:
        return self in (Role.NATIONAL, Role.COACH)


class User(UserMixin, CreatedAt, Model):
    """A person who signs in. Relais staff belong to one relais; national and coaches to none.

    Not a tenant-owned table in the strict sense (login looks e-mails up before any tenant is
    known), but once a relais is bound the ORM and the database only show its own staff.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('relais_admin', 'relais_worker')) = (relais_id IS NOT NULL)",
            name="relais_staff_have_relais",
        ),
    )

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = enum_column(Role)
    relais_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("relais.id"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Encrypted in the database (see `crypto.EncryptedText`); plain base32 in Python.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText(255))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The 30-second time step of the last code accepted: no code is ever accepted twice,
    # nor one older than it.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str | None] = mapped_column(String(5))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on password change or deactivation: invalidates every open session.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    relais = relationship("Relais", foreign_keys=[relais_id], lazy="joined")

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    @property
    def has_two_factor(self) -> bool:
        return self.totp_confirmed_at is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class UserToken(CreatedAt, Model):
    """Single-use token sent by e-mail; only its SHA-256 is stored."""

    __tablename__ = "user_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    purpose: Mapped[TokenPurpose] = enum_column(TokenPurpose)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id])


class ApiToken(CreatedAt, Model):
    """Bearer token for the REST API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User")


class BrowserSession(CreatedAt, Model):
    """A signed-in browser: the cookie carries a random id whose SHA-256 only is stored here.

    Signing out (or a password change, for the other browsers) ends the row, so a copy of the
    cookie taken before is refused afterwards even though its signature is still valid.
    """

    __tablename__ = "browser_sessions"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NetworkSecurityPolicy(Model):
    """Network-wide settings the national team sets (a single row, id 1)."""

    __tablename__ = "network_security_policy"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Two-factor for every account that reaches personal data (relais staff).
    staff_two_factor_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


# E-mail addresses are unique whatever their case.
Index("uq_users_email_lower", func.lower(User.email), unique=True)
