from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Sequence, String, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from relais_platform.orm import Model
from relais_platform.tenancy import TenantScoped


class AuditEntry(TenantScoped, Model):
    """Who did what, when, from where. UPDATE and DELETE are refused by the database."""

    __tablename__ = "audit_log"
    # Writers may not be allowed to read back what they log (RLS on SELECT), so no
    # INSERT ... RETURNING: the id comes from the sequence first. A trigger (0011) keeps
    # that id only if this database session just drew it, and always stamps `occurred_at`
    # with the database's time: whatever a client sends, both come from PostgreSQL.
    __table_args__ = (
        Index("ix_audit_log_target", "target_type", "target_id"),
        {"implicit_returning": False},
    )
    tenant_optional = True

    id: Mapped[int] = mapped_column(BigInteger, Sequence("audit_log_id_seq"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    ip: Mapped[str | None] = mapped_column(INET)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
