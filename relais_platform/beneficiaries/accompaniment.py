"""Accompaniment: diagnostics, sessions (named and anonymous participants), parcours.

Hours of accompaniment = Σ duration × participants (named + anonymous), computed in SQL.
Anonymising a person keeps their participation rows, so the hours never change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError

from relais_platform.audit import services as audit
from relais_platform.audit.services import current_actor_id
from relais_platform.beneficiaries import registry, themes
from relais_platform.beneficiaries.models import (
    AccompanimentSession,
    Beneficiary,
    Diagnostic,
    Level,
    Need,
    Parcours,
    ParcoursEnrolment,
    Participation,
    SessionKind,
)
from relais_platform.domain import Conflict, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow

MAX_NAMED_PARTICIPANTS = 200
MAX_ANONYMOUS = 10_000


def _enum(enum_cls: type, value: Any, field: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        raise ValidationFailed.field(field, _("Choisissez une valeur de la liste.")) from None


def record_diagnostic(beneficiary: Beneficiary, level: str, needs: Iterable[str],
                      assessed_on: date | None = None) -> Diagnostic:
    needs = list(dict.fromkeys(needs))
    unknown = [n for n in needs if n not in {m.value for m in Need}]
    if unknown:
        raise ValidationFailed.field("needs", _("Besoin inconnu : %(n)s.", n=", ".join(unknown)))
    assessed_on = assessed_on or utcnow().date()
    if assessed_on > utcnow().date():
        raise ValidationFailed.field("assessed_on", _("La date ne peut pas être dans le futur."))
    diagnostic = Diagnostic(beneficiary_id=beneficiary.id, level=_enum(Level, level, "level"),
                            needs=needs, assessed_on=assessed_on, recorded_by_id=current_actor_id())
    db.session.add(diagnostic)
    db.session.flush()
    audit.record("beneficiary_diagnostic_recorded", target=beneficiary,
                 details={"diagnostic_id": diagnostic.id})
    return diagnostic


def diagnostics_of(beneficiary_id: int) -> list[Diagnostic]:
    return list(db.session.scalars(
        select(Diagnostic).where(Diagnostic.beneficiary_id == beneficiary_id)
        .order_by(Diagnostic.assessed_on.desc(), Diagnostic.id.desc())
    ))


# --- parcours ------------------------------------------------------------------------


def create_parcours(name: str, kind: str, sessions_required: int) -> Parcours:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed.field("name", _("Indiquez un nom (120 caractères au plus)."))
    if not 1 <= sessions_required <= 100:
        raise ValidationFailed.field("sessions_required", _("Entre 1 et 100 séances."))
    parcours = Parcours(name=name, kind=_enum(SessionKind, kind, "kind"),
                        sessions_required=sessions_required)
    try:
        # Added inside the savepoint: a duplicate name rolls back this insert only.
        with db.session.begin_nested():
            db.session.add(parcours)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("Un parcours porte déjà ce nom."),
                       {"name": [_("Un parcours porte déjà ce nom.")]}) from None
    audit.record("parcours_created", target=parcours)
    return parcours


def list_parcours() -> list[Parcours]:
    return list(db.session.scalars(select(Parcours).order_by(Parcours.name)))


@dataclass(frozen=True)
class Progress:
    parcours_id: int
    name: str
    attended: int
    required: int
    started_on: date
    completed_on: date | None


def _attended(beneficiary_ids: Iterable[int], parcours_id: int) -> dict[int, int]:
    rows = db.session.execute(
        select(Participation.beneficiary_id, func.count(Participation.id))
        .join(AccompanimentSession, AccompanimentSession.id == Participation.session_id)
        .where(AccompanimentSession.parcours_id == parcours_id, AccompanimentSession.deleted_at.is_(None),
               Participation.beneficiary_id.in_(list(beneficiary_ids)))
        .group_by(Participation.beneficiary_id)
    )
    return dict(rows.tuples().all())


def refresh_parcours(parcours_id: int, beneficiary_ids: Iterable[int], held_on: date) -> None:
    """Enrol attendees of a parcours session and complete those who did every session."""
    ids = sorted(set(beneficiary_ids))
    if not ids:
        return
    parcours = db.session.get_one(Parcours, parcours_id)
    enrolments = {e.beneficiary_id: e for e in db.session.scalars(
        select(ParcoursEnrolment).where(ParcoursEnrolment.parcours_id == parcours_id,
                                        ParcoursEnrolment.beneficiary_id.in_(ids)))}
    attended = _attended(ids, parcours_id)
    for beneficiary_id in ids:
        enrolment = enrolments.get(beneficiary_id)
        if enrolment is None:
            enrolment = ParcoursEnrolment(parcours_id=parcours_id, beneficiary_id=beneficiary_id,
                                          started_on=held_on)
            db.session.add(enrolment)
        enrolment.started_on = min(enrolment.started_on, held_on)
        if enrolment.completed_on is None and attended.get(beneficiary_id, 0) >= parcours.sessions_required:
            enrolment.completed_on = held_on
    db.session.flush()


def progress_of(beneficiary_id: int) -> list[Progress]:
    """Each parcours the person follows, with the sessions attended (one query)."""
    attended = (
        select(func.count(Participation.id))
        .join(AccompanimentSession, AccompanimentSession.id == Participation.session_id)
        .where(AccompanimentSession.parcours_id == ParcoursEnrolment.parcours_id,
               AccompanimentSession.deleted_at.is_(None),
               Participation.beneficiary_id == ParcoursEnrolment.beneficiary_id)
        .correlate(ParcoursEnrolment)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(ParcoursEnrolment, Parcours.name, Parcours.sessions_required, attended)
        .join(Parcours, Parcours.id == ParcoursEnrolment.parcours_id)
        .where(ParcoursEnrolment.beneficiary_id == beneficiary_id)
        .order_by(ParcoursEnrolment.started_on, Parcours.name)
    )
    return [Progress(e.parcours_id, name, count, required, e.started_on, e.completed_on)
            for e, name, required, count in rows]


# --- sessions ------------------------------------------------------------------------


def _checked(data: Mapping[str, Any], *, keep_theme: str | None = None) -> dict[str, Any]:
    """The checks of a session, new or changed: 422 with every problem at once.

    `keep_theme`: the theme a corrected or copied session already carries, kept even if
    retired since (retired themes are refused for anything else)."""
    errors: dict[str, list[str]] = {}
    beneficiary_ids = sorted(set(data.get("beneficiary_ids") or []))
    anonymous = data.get("anonymous_count") or 0
    held_on: date | None = data.get("date")
    duration = data.get("duration_minutes")
    if held_on is None:
        errors["date"] = [_("Indiquez la date de la séance.")]
    elif held_on > utcnow().date():
        errors["date"] = [_("La date ne peut pas être dans le futur.")]
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= 1440:
        errors["duration_minutes"] = [_("Une durée entre 1 et 1440 minutes.")]
    if isinstance(anonymous, bool) or not isinstance(anonymous, int) or not 0 <= anonymous <= MAX_ANONYMOUS:
        errors["anonymous_count"] = [_("Un nombre entre 0 et %(n)d.", n=MAX_ANONYMOUS)]
        anonymous = 0
    if len(beneficiary_ids) > MAX_NAMED_PARTICIPANTS:
        errors["beneficiary_ids"] = [_("%(n)d participants nommés au plus.", n=MAX_NAMED_PARTICIPANTS)]
    elif not beneficiary_ids and anonymous == 0 and "anonymous_count" not in errors:
        errors["beneficiary_ids"] = [_("Indiquez au moins un participant (nommé ou anonyme).")]
    else:
        # The same message for an id of another relais as for one that never existed.
        missing = sorted(set(beneficiary_ids) - registry.existing_ids(beneficiary_ids))
        if missing:
            errors["beneficiary_ids"] = [_("Bénéficiaires introuvables : %(ids)s.",
                                           ids=", ".join(map(str, missing)))]
    parcours_id = data.get("parcours_id")
    if parcours_id is not None and db.session.get(Parcours, parcours_id) is None:
        errors["parcours_id"] = [_("Parcours introuvable.")]
    try:
        kind = SessionKind(str(data.get("kind")))
    except ValueError:
        errors["kind"] = [_("Choisissez une valeur de la liste.")]
    theme = data.get("theme") or None
    if theme is not None and theme != keep_theme:
        try:
            theme = themes.active_code(theme)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return {"kind": kind, "theme": theme, "held_on": held_on, "duration_minutes": duration,
            "anonymous_count": anonymous, "parcours_id": parcours_id, "beneficiary_ids": beneficiary_ids}


def _write_participants(session: AccompanimentSession, beneficiary_ids: list[int]) -> None:
    db.session.add_all(Participation(session_id=session.id, beneficiary_id=b) for b in beneficiary_ids)
    db.session.flush()
    registry.touch(beneficiary_ids, datetime.combine(session.held_on, time(12), tzinfo=UTC))
    if session.parcours_id is not None:
        refresh_parcours(session.parcours_id, beneficiary_ids, session.held_on)


def record_session(data: Mapping[str, Any], *, keep_theme: str | None = None) -> AccompanimentSession:
    """A session with its named participants and/or an anonymous count (at least one)."""
    values = _checked(data, keep_theme=keep_theme)
    beneficiary_ids = values.pop("beneficiary_ids")
    session = AccompanimentSession(**values, recorded_by_id=current_actor_id())
    db.session.add(session)
    db.session.flush()
    _write_participants(session, beneficiary_ids)
    audit.record("accompaniment_recorded", target=session, details={"beneficiary_ids": beneficiary_ids})
    return session


def get_session(session_id: int, *, lock: bool = False) -> AccompanimentSession:
    """A live session of the bound relais (another relais' or a deleted one: 404)."""
    stmt = select(AccompanimentSession).where(AccompanimentSession.id == session_id,
                                              AccompanimentSession.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    session = db.session.scalar(stmt)
    if session is None:
        raise NotFound(_("Séance introuvable."))
    return session


def _as_data(session: AccompanimentSession) -> dict[str, Any]:
    return {"kind": session.kind.value, "theme": session.theme, "date": session.held_on,
            "duration_minutes": session.duration_minutes, "anonymous_count": session.anonymous_count,
            "parcours_id": session.parcours_id,
            "beneficiary_ids": participants_of([session.id])[session.id]}


def update_session(session_id: int, changes: Mapping[str, Any]) -> AccompanimentSession:
    """Correct any field of a session, under the checks of its creation."""
    session = get_session(session_id, lock=True)
    before = _as_data(session)
    values = _checked({**before, **changes}, keep_theme=session.theme)
    beneficiary_ids = values.pop("beneficiary_ids")
    changed = sorted(k for k in values if getattr(session, k) != values[k])
    for key in changed:
        setattr(session, key, values[key])
    db.session.flush()
    if beneficiary_ids != before["beneficiary_ids"]:
        changed.append("beneficiary_ids")
        db.session.execute(delete(Participation).where(Participation.session_id == session.id))
        _write_participants(session, beneficiary_ids)
    elif session.parcours_id is not None and {"parcours_id", "held_on"} & set(changed):
        refresh_parcours(session.parcours_id, beneficiary_ids, session.held_on)
    if changed:
        audit.record("accompaniment_updated", target=session, details={"fields": changed})
    return session


def delete_session(session_id: int, reason: str | None) -> AccompanimentSession:
    """Delete a session logged by mistake: kept for the audit, counted nowhere any more."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        raise ValidationFailed.field("reason", _("Indiquez la raison (2000 caractères au plus)."))
    session = get_session(session_id, lock=True)
    session.deleted_at = utcnow()
    session.deleted_by_id = current_actor_id()
    session.delete_reason = reason
    db.session.flush()
    audit.record("accompaniment_deleted", target=session)
    return session


def duplicate_session(session_id: int, held_on: date | None) -> AccompanimentSession:
    """The same session (participants included) on another date: the weekly workshop."""
    source = get_session(session_id)
    session = record_session({**_as_data(source), "date": held_on}, keep_theme=source.theme)
    audit.record("accompaniment_duplicated", target=session, details={"source_id": source.id})
    return session


def participant_count() -> Any:
    """Correlated count of a session's named participants."""
    return (
        select(func.count(Participation.id))
        .where(Participation.session_id == AccompanimentSession.id)
        .correlate(AccompanimentSession)
        .scalar_subquery()
    )


def sessions_statement(start: date | None = None, end: date | None = None,
                       beneficiary_id: int | None = None) -> Select:
    """Live sessions with their named-participant count, newest first (one query per page)."""
    stmt = select(AccompanimentSession, participant_count().label("named_count")).where(
        AccompanimentSession.deleted_at.is_(None))
    if start is not None:
        stmt = stmt.where(AccompanimentSession.held_on >= start)
    if end is not None:
        stmt = stmt.where(AccompanimentSession.held_on < end)
    if beneficiary_id is not None:
        stmt = stmt.where(AccompanimentSession.id.in_(
            select(Participation.session_id).where(Participation.beneficiary_id == beneficiary_id)))
    return stmt.order_by(AccompanimentSession.held_on.desc(), AccompanimentSession.id.desc())


def sessions_page(start: date | None, end: date | None, page: int,
                  per_page: int) -> tuple[list[tuple[AccompanimentSession, int]], int]:
    """One page of sessions with their named-participant counts, and the total (two queries)."""
    stmt = sessions_statement(start, end)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).tuples().all()
    return list(rows), total or 0


def participants_of(session_ids: Iterable[int]) -> dict[int, list[int]]:
    """Named participants' ids per session, for a page of sessions (one query)."""
    ids = list(session_ids)
    found: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for session_id, beneficiary_id in db.session.execute(
            select(Participation.session_id, Participation.beneficiary_id)
            .where(Participation.session_id.in_(ids)).order_by(Participation.beneficiary_id)
        ):
            found[session_id].append(beneficiary_id)
    return found


def accompaniment_hours(relais_id: int, start: date, end: date) -> Decimal:
    """Hours of accompaniment of a relais in [start, end): Σ duration × participants."""
    minutes = db.session.scalar(
        select(func.coalesce(func.sum(
            AccompanimentSession.duration_minutes
            * (AccompanimentSession.anonymous_count + participant_count())
        ), 0))
        .where(AccompanimentSession.relais_id == relais_id, AccompanimentSession.deleted_at.is_(None),
               AccompanimentSession.held_on >= start, AccompanimentSession.held_on < end)
    )
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))

