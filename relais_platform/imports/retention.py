"""Retention of uploaded import files (docs/privacy.md, "Retention").

An uploaded file (a beneficiaries file is personal data) is kept only while it may still be
applied:

- applied, failed or invalid: the file is dropped as the job ends (`services.run_check`,
  `services.run_apply`; this purge drops any left over), and so is an applied file's preview
  (its first rows); the preview of an invalid or failed file, which helps correct it, goes
  `IMPORT_RETENTION_DAYS` after the upload;
- checked (or still checking) and not applied within `IMPORT_RETENTION_DAYS` (7) of its upload:
  the file and its preview are dropped and the import becomes `expired` — applying it is then a
  409 asking for the file again;
- still applying that long after its upload: its job died; it becomes `failed`, file dropped.

The report stays (counts, problems by row and column: it quotes no cell).

A relais' imports are reachable only in that relais' own scope (row-level security keeps them
out of every network scope), so the purge walks the relais one by one, each in its own
transaction, after the national team's imports (which belong to no relais).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select, update

from relais_platform.extensions import db
from relais_platform.imports.models import ImportRun, ImportStatus
from relais_platform.imports.services import retention_days
from relais_platform.orm import rows_affected, utcnow
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais

# The file has served its purpose: dropped at once, whatever its age.
DONE = (ImportStatus.INVALID, ImportStatus.APPLIED, ImportStatus.FAILED, ImportStatus.EXPIRED)
WAITING = (ImportStatus.CHECKING, ImportStatus.CHECKED)


def cutoff(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=retention_days())


def _purge(owner: ColumnElement[bool], before: datetime, now: datetime) -> int:
    """Drop the files of one scope's imports (`owner`: its relais, or none); how many rows
    were touched."""
    done = (owner, ImportRun.status.in_(DONE))
    old = (owner, ImportRun.created_at < before)
    statements = [
        # Done with: the file goes at once (the jobs drop it already; this catches any left).
        update(ImportRun).where(*done, ImportRun.content.is_not(None)).values(content=None),
        # The preview of an invalid or failed file helps correct it: kept as long as a file.
        update(ImportRun).where(*done, *old, ImportRun.preview != {}).values(preview={}),
        update(ImportRun).where(*old, ImportRun.status.in_(WAITING)).values(
            content=None, preview={}, status=ImportStatus.EXPIRED, progress=0, finished_at=now),
        # Applying for days: its job died without a word.
        update(ImportRun).where(*old, ImportRun.status == ImportStatus.APPLYING).values(
            content=None, preview={}, status=ImportStatus.FAILED, progress=0, finished_at=now,
            error_count=1, errors=[{"row": 0, "column": "", "message": _(
                "L'import ne s'est pas terminé : rien n'a été enregistré et le fichier a été "
                "supprimé. Envoyez-le à nouveau.")}]),
    ]
    return sum(rows_affected(statement.execution_options(synchronize_session=False))
               for statement in statements)


def purge_files(now: datetime | None = None) -> int:
    """Apply the rule to every import, the national team's then each relais'; returns how many
    imports had their file dropped."""
    now = now or utcnow()
    before = cutoff(now)
    total = _purge(ImportRun.relais_id.is_(None), before, now)
    db.session.commit()
    relais_ids = list(db.session.scalars(select(Relais.id).order_by(Relais.id)))
    for relais_id in relais_ids:
        with tenant_session(db.session, TenantScope(relais_id=relais_id)) as session:
            total += _purge(ImportRun.relais_id == relais_id, before, now)
            session.commit()
    return total
