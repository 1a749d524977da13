"""Data-protection rights: access (JSON and printable PDF export), erasure, and merge.

Erasure anonymises in place (see docs/privacy.md, "Beneficiaries"): the row stays so that
counts and hours survive; what could identify the person is removed. Only a relais admin
exercises these rights (the API and the views check the role).
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.orm import aliased

from relais_platform.audit import services as audit
from relais_platform.beneficiaries import accompaniment, registry
from relais_platform.beneficiaries.models import (
    AccompanimentSession,
    Beneficiary,
    Diagnostic,
    ParcoursEnrolment,
    Participation,
)
from relais_platform.domain import ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais

# What anonymisation writes. Kept: relais, dates (registration, last seen), the birth
# decade, situation, housing and banking categories, diagnostics, participations.
ANONYMISED_VALUES: dict[str, Any] = {
    "first_name": "",
    "last_name": "",
    "birth_year": (Beneficiary.birth_year // 10) * 10,  # 1987 -> 1980
    "phone": None,
    "no_phone": False,
    "language": None,
    "nationality": None,
    "referrer": None,
    "note": None,
    "connection_extension_reason": None,
}


def anonymise_where(*criteria: ColumnElement[bool], reason: str) -> list[int]:
    """Anonymise the registered people matching `criteria` (one UPDATE), audited per person."""
    now = utcnow()
    ids = list(db.session.scalars(
        update(Beneficiary)
        .where(Beneficiary.anonymised_at.is_(None), *criteria)
        .values(**ANONYMISED_VALUES, anonymised_at=now)
        .returning(Beneficiary.id),
        execution_options={"synchronize_session": "fetch"},
    ))
    if ids:
        for clear in registry.erasure_hooks():
            clear(db.session, ids)
    for beneficiary_id in ids:
        audit.record("beneficiary_anonymised", target_type="beneficiaries", target_id=beneficiary_id,
                     details={"reason": reason})
    return ids


def erase(beneficiary: Beneficiary) -> None:
    """The right to erasure, exercised by the relais admin."""
    anonymise_where(Beneficiary.id == beneficiary.id, reason="erasure")


def export_data(beneficiary: Beneficiary) -> dict[str, Any]:
    """Everything the platform holds about one person (right of access), audited."""
    sessions = db.session.execute(
        select(AccompanimentSession)
        .join(Participation, Participation.session_id == AccompanimentSession.id)
        .where(Participation.beneficiary_id == beneficiary.id)
        .order_by(AccompanimentSession.held_on)
    ).scalars()
    relais = db.session.get_one(Relais, beneficiary.relais_id)
    return {
        "exported_at": utcnow().isoformat(),
        "relais": {"name": relais.name, "city": relais.city, "contact_email": relais.contact_email},
        "beneficiary": {
            "id": beneficiary.id,
            **{name: _plain(getattr(beneficiary, name)) for name in registry.FIELDS},
            "consent_at": beneficiary.consent_at.isoformat(),
            "created_at": beneficiary.created_at.isoformat(),
            "last_seen_at": beneficiary.last_seen_at.isoformat(),
            "connection_until": (beneficiary.connection_until.isoformat()
                                 if beneficiary.connection_until else None),
            "connection_extension_months": beneficiary.connection_extension_months,
            "connection_extension_reason": beneficiary.connection_extension_reason,
        },
        "diagnostics": [
            {"assessed_on": d.assessed_on.isoformat(), "level": d.level.value, "needs": d.needs}
            for d in accompaniment.diagnostics_of(beneficiary.id)
        ],
        "sessions": [
            {"date": s.held_on.isoformat(), "kind": s.kind.value,
             "theme": s.theme, "duration_minutes": s.duration_minutes,
             "deleted": s.deleted_at is not None}
            for s in sessions
        ],
        "parcours": [
            {"name": p.name, "attended": p.attended, "required": p.required,
             "started_on": p.started_on.isoformat(),
             "completed_on": p.completed_on.isoformat() if p.completed_on else None}
            for p in accompaniment.progress_of(beneficiary.id)
        ],
        "distributions": _distributions(beneficiary.id),
    }


def _distributions(beneficiary_id: int) -> list[dict[str, Any]]:
    """What the person received (cancelled ones included, marked): products, serials, prices."""
    # Imported here: the stock package's models import this package's registry.
    from relais_platform.stock.distributions.models import Distribution

    return [
        {"date": d.distributed_on.isoformat(), "sku": d.product.sku, "product": d.product.name,
         "quantity": d.quantity, "serial": d.unit.serial if d.unit else None, "price_cents": d.price_cents,
         "programme": d.programme.value,
         "warranty_ends_on": d.warranty_ends_on.isoformat() if d.warranty_ends_on else None,
         "cancelled": d.is_cancelled}
        for d in db.session.scalars(
            select(Distribution).where(Distribution.beneficiary_id == beneficiary_id)
            .order_by(Distribution.distributed_on, Distribution.id))
    ]


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def export(beneficiary: Beneficiary, fmt: str) -> dict[str, Any]:
    data = export_data(beneficiary)
    audit.record("beneficiary_exported", target=beneficiary, details={"format": fmt})
    return data


def export_pdf(beneficiary: Beneficiary) -> bytes:
    """A printable copy of the export, in French (WeasyPrint, no network access)."""
    from weasyprint import HTML

    data = export(beneficiary, "pdf")
    html = render_template("beneficiaries/export_pdf.html", data=data)
    return HTML(string=html).write_pdf()


def merge(keep: Beneficiary, other: Beneficiary) -> Beneficiary:
    """Merge `other` into `keep`: references move to `keep`, then `other` is deleted.

    Deleted rather than anonymised: both records are one person, so keeping the second
    would count them twice. `keep`'s own values win; its empty fields take `other`'s.
    """
    if keep.id == other.id:
        raise ValidationFailed.field("merge_id", _("Choisissez deux fiches différentes."))
    for name in registry.FIELDS:
        if getattr(keep, name) in (None, "") and getattr(other, name) not in (None, ""):
            setattr(keep, name, getattr(other, name))
    if keep.phone and keep.no_phone:
        keep.no_phone = False
    keep.last_seen_at = max(keep.last_seen_at, other.last_seen_at)
    keep.consent_at = min(keep.consent_at, other.consent_at)
    # One person, one connection period: the earliest start, the extension granted to either.
    starts = [d for d in (keep.connection_started_on, other.connection_started_on) if d]
    keep.connection_started_on = min(starts) if starts else None
    if keep.connection_extension_months is None and other.connection_extension_months is not None:
        keep.connection_extension_months = other.connection_extension_months
        keep.connection_extension_reason = other.connection_extension_reason
        keep.connection_extended_at = other.connection_extended_at
        keep.connection_extended_by_id = other.connection_extended_by_id
    db.session.flush()
    for hook in registry.merge_hooks():
        hook(db.session, keep.id, other.id)
    merged_id = other.id
    db.session.delete(other)
    db.session.flush()
    audit.record("beneficiaries_merged", target=keep, details={"merged_id": merged_id})
    return keep


def _move_participations(session: Any, keep_id: int, merge_id: int) -> None:
    # A session both records attended counts the person once.
    kept = aliased(Participation)
    session.execute(
        delete(Participation)
        .where(Participation.beneficiary_id == merge_id,
               exists().where(kept.session_id == Participation.session_id, kept.beneficiary_id == keep_id)),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Participation).where(Participation.beneficiary_id == merge_id)
        .values(beneficiary_id=keep_id),
        execution_options={"synchronize_session": False},
    )


def _move_enrolments(session: Any, keep_id: int, merge_id: int) -> None:
    kept = aliased(ParcoursEnrolment)
    session.execute(
        delete(ParcoursEnrolment)
        .where(ParcoursEnrolment.beneficiary_id == merge_id,
               exists().where(kept.parcours_id == ParcoursEnrolment.parcours_id,
                              kept.beneficiary_id == keep_id)),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(ParcoursEnrolment).where(ParcoursEnrolment.beneficiary_id == merge_id)
        .values(beneficiary_id=keep_id),
        execution_options={"synchronize_session": False},
    )
    # Attendance now adds up across both records: complete whom it completes.
    for parcours_id, held_on in session.execute(
        select(AccompanimentSession.parcours_id, AccompanimentSession.held_on)
        .join(Participation, Participation.session_id == AccompanimentSession.id)
        .where(Participation.beneficiary_id == keep_id, AccompanimentSession.parcours_id.is_not(None),
               AccompanimentSession.deleted_at.is_(None))
        .distinct(AccompanimentSession.parcours_id)
        .order_by(AccompanimentSession.parcours_id, AccompanimentSession.held_on.desc())
    ):
        accompaniment.refresh_parcours(parcours_id, [keep_id], held_on)


registry.register_merge_hook(_move_participations)
registry.register_merge_hook(_move_enrolments)
registry.register_reference(Diagnostic.beneficiary_id)
