"""Evidence for the training-quality audit: records, attendance sheets and surveys as CSV or XLSX."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from relais_platform.accounts.models import User
from relais_platform.audit import services as audit
from relais_platform.audit.services import network_access
from relais_platform.domain import NotFound
from relais_platform.extensions import db
from relais_platform.spreadsheets import csv_bytes, safe_cell
from relais_platform.tenants.models import Relais
from relais_platform.training.models import (
    Enrolment,
    EnrolmentStatus,
    SatisfactionSurvey,
    TrainingModule,
    TrainingRecord,
    TrainingSession,
)

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _records() -> tuple[list[str], Iterable[tuple]]:
    header = [_("Attestation"), _("Personne"), _("E-mail"), _("Relais"), _("Module"), _("Intitulé"),
              _("Durée (h)"), _("Session"), _("Début"), _("Fin"), _("Formateur·rice"), _("Terminé le")]
    rows = db.session.execute(
        select(TrainingRecord.id, User.name, User.email, Relais.name, TrainingModule.code,
               TrainingModule.title, TrainingModule.duration_hours, TrainingSession.id,
               TrainingSession.starts_at, TrainingSession.ends_at, TrainingSession.trainer,
               TrainingRecord.completed_at)
        .join(User, User.id == TrainingRecord.user_id)
        .join(Relais, Relais.id == TrainingRecord.relais_id)
        .join(TrainingModule, TrainingModule.id == TrainingRecord.module_id)
        .join(TrainingSession, TrainingSession.id == TrainingRecord.session_id)
        .order_by(TrainingRecord.completed_at, TrainingRecord.id)
    )
    return header, [tuple(row) for row in rows]


def _attendance() -> tuple[list[str], Iterable[tuple]]:
    signer = aliased(User)
    header = [_("Session"), _("Module"), _("Début"), _("Fin"), _("Lieu"), _("Formateur·rice"),
              _("Personne"), _("Relais"), _("Présence"), _("Signée le"), _("Signée par")]
    rows = db.session.execute(
        select(TrainingSession.id, TrainingModule.code, TrainingSession.starts_at,
               TrainingSession.ends_at, TrainingSession.location, TrainingSession.trainer,
               User.name, Relais.name, Enrolment.present, TrainingSession.signed_off_at, signer.name)
        .join(TrainingModule, TrainingModule.id == TrainingSession.module_id)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .join(User, User.id == Enrolment.user_id)
        .join(Relais, Relais.id == Enrolment.relais_id)
        .outerjoin(signer, signer.id == TrainingSession.signed_off_by_id)
        .where(Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(TrainingSession.starts_at, TrainingSession.id, Relais.name, User.name)
    )
    return header, ((*row[:8], _presence(row[8]), *row[9:]) for row in rows)


def _presence(present: bool | None) -> str:
    if present is None:
        return _("non renseignée")
    return _("présent·e") if present else _("absent·e")


def _surveys() -> tuple[list[str], Iterable[tuple]]:
    # Answers are shown with the session, not the person: the audit needs the evidence,
    # not who said what.
    header = [_("Session"), _("Module"), _("Début"), _("Relais"), _("Note (1-5)"), _("Commentaire"),
              _("Répondu le")]
    rows = db.session.execute(
        select(TrainingSession.id, TrainingModule.code, TrainingSession.starts_at, Relais.name,
               SatisfactionSurvey.rating, SatisfactionSurvey.comment, SatisfactionSurvey.submitted_at)
        .join(TrainingRecord, TrainingRecord.id == SatisfactionSurvey.record_id)
        .join(TrainingSession, TrainingSession.id == TrainingRecord.session_id)
        .join(TrainingModule, TrainingModule.id == TrainingSession.module_id)
        .join(Relais, Relais.id == SatisfactionSurvey.relais_id)
        .order_by(TrainingSession.starts_at, SatisfactionSurvey.id)
    )
    return header, [tuple(row) for row in rows]


KINDS: dict[str, Callable[[], tuple[list[str], Iterable[tuple]]]] = {
    "records": _records,
    "attendance": _attendance,
    "surveys": _surveys,
}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        return value.astimezone(zone).replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(value)


def export(kind: str, fmt: str) -> tuple[str, str, bytes]:
    """National: (file name, MIME type, content) of one export."""
    if kind not in KINDS or fmt not in FORMATS:
        raise NotFound(_("Export inconnu."))
    network_access(None, reason=f"training-quality export: {kind}")
    header, rows = KINDS[kind]()
    table = [[_cell(v) for v in row] for row in rows]
    audit.record("training_export", details={"kind": kind, "format": fmt, "rows": len(table)})
    name = f"formation-{kind}.{fmt}"
    if fmt == "csv":
        return name, FORMATS[fmt], csv_bytes([header, *table])
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = kind
    sheet.append(header)
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return name, FORMATS[fmt], buffer.getvalue()
