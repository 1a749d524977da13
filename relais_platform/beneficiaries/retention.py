"""Retention: people not seen for BENEFICIARY_RETENTION_MONTHS (24) are anonymised, and
audit-log entries older than 12 months are purged.

Personal data is only visible inside its own relais, never through a network scope, so the
anonymisation walks the relais one by one, each in its own transaction.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime

from flask import current_app
from sqlalchemy import select, text

from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.beneficiaries.rights import anonymise_where
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais


def retention_cutoff(now: datetime | None = None) -> datetime:
    """`now` minus the retention in calendar months (31 March - 1 month = 28/29 February)."""
    months = int(current_app.config.get("BENEFICIARY_RETENTION_MONTHS", 24))
    now = now or utcnow()
    years, month_index = divmod(now.month - 1 - months, 12)
    year, month = now.year + years, month_index + 1
    return now.replace(year=year, month=month, day=min(now.day, monthrange(year, month)[1]))


def anonymise_inactive(now: datetime | None = None) -> int:
    """Anonymise, relais by relais, everyone last seen before the cutoff; returns how many."""
    cutoff = retention_cutoff(now)
    relais_ids = list(db.session.scalars(select(Relais.id).order_by(Relais.id)))
    total = 0
    for relais_id in relais_ids:
        with tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
            total += len(anonymise_where(Beneficiary.last_seen_at < cutoff, reason="retention"))
            session.commit()
    return total


def purge_audit_log() -> int:
    """Remove audit entries older than 12 months (the database function decides which)."""
    return db.session.scalar(text("SELECT purge_audit_log()")) or 0
