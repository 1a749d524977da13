"""The summaries the bilan and the activity report read (migration 0020), checked against the
facts: people reached per day, distributions and sessions per month, relais' distribution days.

Triggers fold every write of the facts into them in the same transaction; this module only
verifies. The comparison runs in the database (`reporting_summaries_drift`, SECURITY DEFINER:
it reads the personal facts as the bilan does, and returns counts only).
"""

from __future__ import annotations

from sqlalchemy import text

from relais_platform.extensions import db


def drift() -> dict[str, int]:
    """Rows of each summary that differ from what the facts make (0 everywhere when sound)."""
    rows = db.session.execute(text("SELECT summary, rows FROM reporting_summaries_drift()"))
    return {summary: int(count) for summary, count in rows}
