"""Scheduled housekeeping for accounts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from relais_platform.accounts.models import ApiToken, UserToken
from relais_platform.orm import rows_affected, utcnow


def purge_expired_tokens() -> int:
    """Forget single-use and API tokens a month after they stopped being usable."""
    cutoff = utcnow() - timedelta(days=30)
    removed = rows_affected(
        delete(UserToken).where(or_(UserToken.expires_at < cutoff, UserToken.used_at < cutoff))
    )
    removed += rows_affected(
        delete(ApiToken).where(or_(ApiToken.expires_at < cutoff, ApiToken.revoked_at < cutoff))
    )
    return removed
