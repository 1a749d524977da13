"""An uploaded file on its way in: checked, then applied, with its report.

Not `TenantScoped` (like `reporting.models.ReportExport`): the national team's imports
belong to no relais (relais_id NULL), a relais admin's to its relais. Row-level security
keeps a relais to its own rows and a relais' file (possibly personal data) out of the
national scope; the service looks imports up within the uploader's scope (another relais'
import is a 404).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from relais_platform.orm import CreatedAt, Model, enum_column, intpk


class ImportKind(enum.StrEnum):
    RELAIS = "relais"
    USERS = "users"
    BENEFICIARIES = "beneficiaries"
    RELAIS_STOCK = "relais_stock"
    SERIALS = "serials"
    PRODUCTS = "products"


class ImportStatus(enum.StrEnum):
    CHECKING = "checking"
    CHECKED = "checked"
    INVALID = "invalid"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    # Never applied within IMPORT_RETENTION_DAYS: the file was dropped (upload it again).
    EXPIRED = "expired"


class ImportRun(CreatedAt, Model):
    __tablename__ = "imports"
    __table_args__ = (CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),)

    id: Mapped[intpk]
    relais_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("relais.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    kind: Mapped[ImportKind] = enum_column(ImportKind)
    status: Mapped[ImportStatus] = enum_column(ImportStatus, default=ImportStatus.CHECKING)
    filename: Mapped[str] = mapped_column(String(200))
    # The uploaded file, read by the check and apply jobs; NULL once applied, failed or
    # invalid, and after IMPORT_RETENTION_DAYS for a file never applied (`imports.retention`).
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    valid_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # [{"row", "column", "message"}], the first MAX_STORED_PROBLEMS of them.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    # Rows that will be skipped (look-alikes of registered people), same shape.
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    # The header and the first rows, for the preview table.
    preview: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<ImportRun {self.id} {self.kind} {self.status}>"
