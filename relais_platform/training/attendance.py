"""Attendance sheets, training records, satisfaction surveys.

Marking someone present gives them a training record for the module (what progress counts).
The sheet is kept by the national team or by the session's trainer when the trainer has an
account (`TrainingSession.trainer_id`); it can be corrected until one of them signs it off,
after which it is evidence and stays as it is.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, select

from relais_platform import mail
from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.audit.services import network_access
from relais_platform.domain import Conflict, Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.training.catalogue import get_session
from relais_platform.training.enrolments import public_link
from relais_platform.training.models import (
    Enrolment,
    EnrolmentStatus,
    SatisfactionSurvey,
    TrainingRecord,
    TrainingSession,
)


def keeps_sheet(actor: User, session: TrainingSession) -> bool:
    """The national team, or the session's trainer."""
    return actor.role == Role.NATIONAL or (actor.active and session.trainer_id == actor.id)


def _require_keeper(actor: User, session: TrainingSession) -> None:
    if not keeps_sheet(actor, session):
        raise Forbidden(_("Seuls le formateur de la session et l'équipe nationale tiennent la feuille."))


def mark_attendance(actor: User, session_id: int, user_id: int, present: bool) -> Enrolment:
    """National or trainer: one line of the sheet. Present → training record; absent → none."""
    session = get_session(session_id)
    _require_keeper(actor, session)
    if session.signed_off_at is not None:
        raise Conflict(_("La feuille d'émargement est signée : elle ne peut plus changer."))
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or user.relais_id is None:
        raise NotFound(_("Utilisateur introuvable."))
    network_access([user.relais_id], reason="training attendance sheet")
    enrolment = db.session.scalar(select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.user_id == user.id,
        Enrolment.status == EnrolmentStatus.ENROLLED,
    ))
    if enrolment is None:
        raise NotFound(_("Cette personne n'est pas inscrite à cette session."))
    record = db.session.scalar(select(TrainingRecord).where(
        TrainingRecord.session_id == session.id, TrainingRecord.user_id == user.id))
    if present and record is None:
        db.session.add(TrainingRecord(
            relais_id=user.relais_id, user_id=user.id, module_id=session.module_id,
            session_id=session.id, completed_at=session.ends_at,
        ))
    elif not present and record is not None:
        if db.session.scalar(select(exists().where(SatisfactionSurvey.record_id == record.id))):
            raise Conflict(_("Cette personne a déjà répondu au questionnaire de satisfaction."))
        db.session.delete(record)
    enrolment.present = present
    enrolment.attendance_marked_at = utcnow()
    enrolment.attendance_marked_by_id = actor.id
    db.session.flush()
    audit.record("training_attendance_marked", target=enrolment, relais_id=user.relais_id,
                 details={"session_id": session.id, "user_id": user.id, "present": present})
    return enrolment


def sheet_for(actor: User, session_id: int) -> list[Enrolment]:
    """The sheet as its keeper reads it: everyone enrolled, whatever their relais (audited)."""
    _require_keeper(actor, get_session(session_id))
    network_access(None, reason="training attendance sheet")
    return sheet(session_id)


def sheet(session_id: int) -> list[Enrolment]:
    """The attendance sheet: everyone enrolled (call under the national scope)."""
    return list(db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(Enrolment.relais_id, Enrolment.id)
    ))


def sign_off(actor: User, session_id: int, trainer: str | None = None) -> None:
    """The trainer, or the national team for the trainer, signs the sheet; present people get
    the survey. Writing the session (a national table) needs the national scope, opened for
    this sheet only and audited."""
    session = get_session(session_id)
    _require_keeper(actor, session)
    network_access(None, reason="training attendance sign-off")
    if session.signed_off_at is not None:
        raise Conflict(_("La feuille d'émargement est déjà signée."))
    lines = sheet(session.id)
    unmarked = [e.user.name for e in lines if e.present is None]
    if unmarked:
        raise ValidationFailed.field(
            "attendance", _("Présence non renseignée pour : %(names)s.", names=", ".join(unmarked)))
    if actor.id == session.trainer_id:
        session.trainer = actor.name
    elif trainer and trainer.strip():
        session.trainer = trainer.strip()
    session.signed_off_at = utcnow()
    session.signed_off_by_id = actor.id
    audit.record("training_sheet_signed", target=session,
                 details={"present": sum(1 for e in lines if e.present), "total": len(lines)})
    for enrolment in lines:
        if enrolment.present:
            mail.send_template(
                enrolment.user.email,
                _("Votre avis sur la formation « %(title)s »", title=session.module.title),
                "training/mail/survey.txt", user=enrolment.user, session=session,
                link=public_link("training.my_training"),
            )


def records_of(user_id: int) -> list[TrainingRecord]:
    return list(db.session.scalars(
        select(TrainingRecord).where(TrainingRecord.user_id == user_id)
        .order_by(TrainingRecord.completed_at.desc())
    ))


def surveyed_record_ids(record_ids: list[int]) -> set[int]:
    return set(db.session.scalars(
        select(SatisfactionSurvey.record_id).where(SatisfactionSurvey.record_id.in_(record_ids))))


def submit_survey(actor: User, session_id: int, rating: int, comment: str | None) -> SatisfactionSurvey:
    """The trainee answers once, only after completing the session."""
    record = db.session.scalar(select(TrainingRecord).where(
        TrainingRecord.session_id == session_id, TrainingRecord.user_id == actor.id))
    if record is None:
        raise ValidationFailed.field(
            "session", _("Le questionnaire est ouvert une fois la formation suivie."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed.field("rating", _("Donnez une note de 1 à 5."))
    if db.session.scalar(select(exists().where(SatisfactionSurvey.record_id == record.id))):
        raise Conflict(_("Vous avez déjà répondu à ce questionnaire."))
    survey = SatisfactionSurvey(record_id=record.id, rating=rating,
                                comment=(comment or "").strip() or None, relais_id=record.relais_id)
    db.session.add(survey)
    db.session.flush()
    audit.record("training_survey_submitted", target=survey, relais_id=record.relais_id)
    return survey


def record_for(actor: User, record_id: int) -> TrainingRecord:
    """A record whose certificate `actor` may download: their own, their staff's, or any (national)."""
    if actor.role == Role.NATIONAL:
        network_access(None, reason="training certificate")
    elif not actor.role.is_relais_role:
        raise NotFound(_("Attestation introuvable."))
    record = db.session.scalar(select(TrainingRecord).where(TrainingRecord.id == record_id))
    if record is None or (actor.role == Role.RELAIS_WORKER and record.user_id != actor.id):
        raise NotFound(_("Attestation introuvable."))
    return record
