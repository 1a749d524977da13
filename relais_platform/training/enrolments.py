"""Enrolment in sessions: seats, waiting list, confirmation e-mails with a calendar invite.

A relais user sees only its own relais' enrolments, but seats are shared by the whole
network: counting and promotion go through two database functions (migration 0003) that
lock the session row and see every relais. A cancellation promotes the head of the waiting
list in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context
from flask_babel import gettext as _
from sqlalchemy import select, text

from relais_platform import jobs, mail
from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.audit.services import network_access
from relais_platform.domain import Conflict, Forbidden, NotFound, ValidationFailed
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.training import catalogue, ics
from relais_platform.training.catalogue import get_session
from relais_platform.training.models import Enrolment, EnrolmentStatus, TrainingSession


@dataclass(frozen=True)
class Seats:
    capacity: int
    enrolled: int
    waitlisted: int


def lock_seats(session_id: int) -> Seats:
    """Lock the session row until the end of the transaction; counts over every relais."""
    row = db.session.execute(
        text("SELECT * FROM training_seat_lock(:id)"), {"id": session_id}
    ).one_or_none()
    if row is None:
        raise NotFound(_("Session introuvable."))
    return Seats(*row)


def settle_seats(session_id: int) -> list[tuple[int, int]]:
    """Promote from the waiting list while seats are free; (enrolment id, relais id) promoted."""
    promoted = [(int(r[0]), int(r[1])) for r in db.session.execute(
        text("SELECT * FROM training_seat_settle(:id)"), {"id": session_id}
    )]
    # The function changed rows behind the ORM's back.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Enrolment | TrainingSession):
            db.session.expire(obj)
    return promoted


def trainee_for(actor: User, user_id: int) -> User:
    """The person `actor` may enrol or cancel: a worker itself, an admin its staff, national anyone.

    Users of another relais are invisible to relais staff (404); opening the trainee's relais
    scope is what lets a national user write its enrolment.
    """
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or (actor.role.is_relais_role and user.relais_id != actor.relais_id):
        raise NotFound(_("Utilisateur introuvable."))
    if actor.role == Role.RELAIS_WORKER and user.id != actor.id:
        raise Forbidden(_("Vous ne pouvez inscrire ou désinscrire que vous-même."))
    if actor.role == Role.COACH:
        raise Forbidden(_("Votre rôle ne permet pas cette action."))
    if user.relais_id is None:
        raise ValidationFailed.field("user_id", _("Seuls les membres d'un relais suivent ces formations."))
    if actor.role == Role.NATIONAL:
        network_access([user.relais_id], reason="training enrolment")
    return user


def _current(session_id: int, user_id: int) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment).where(Enrolment.session_id == session_id, Enrolment.user_id == user_id)
    )


def enrol(actor: User, session_id: int, user_id: int) -> Enrolment:
    session = get_session(session_id)
    trainee = trainee_for(actor, user_id)
    if not trainee.active:
        raise ValidationFailed.field("user_id", _("Ce compte est désactivé."))
    if session.starts_at <= utcnow():
        raise ValidationFailed.field("session", _("Cette session a déjà commencé."))
    seats = lock_seats(session.id)
    # Read under the lock: a cancellation committed while we waited must be seen.
    db.session.refresh(session, ["cancelled_at"])
    if session.cancelled:
        raise Conflict(_("Cette session est annulée : elle ne prend plus d'inscriptions."))
    enrolment = _current(session.id, trainee.id)
    if enrolment is not None and enrolment.status != EnrolmentStatus.CANCELLED:
        raise Conflict(_("%(name)s est déjà inscrit·e à cette session.", name=trainee.name))
    if enrolment is None:
        enrolment = Enrolment(session_id=session.id, user_id=trainee.id, relais_id=trainee.relais_id)
        db.session.add(enrolment)
    # Nobody jumps the queue: with people waiting, a newcomer waits too.
    if seats.enrolled < seats.capacity and seats.waitlisted == 0:
        enrolment.status, enrolment.waitlist_position = EnrolmentStatus.ENROLLED, None
    else:
        enrolment.status = EnrolmentStatus.WAITLISTED
        enrolment.waitlist_position = seats.waitlisted + 1
    enrolment.enrolled_by_id = actor.id
    enrolment.cancelled_at = enrolment.promoted_at = enrolment.reminded_at = None
    db.session.flush()
    settle_seats(session.id)
    audit.record("training_enrolled", target=enrolment, relais_id=enrolment.relais_id,
                 details={"session_id": session.id, "user_id": trainee.id,
                          "status": enrolment.status.value})
    send_enrolment_mail(enrolment)
    return enrolment


def cancel(actor: User, session_id: int, user_id: int) -> list[tuple[int, int]]:
    """Cancel an enrolment; the waiting list moves up at once. Returns who was promoted."""
    session = get_session(session_id)
    trainee = trainee_for(actor, user_id)
    lock_seats(session.id)
    enrolment = _current(session.id, trainee.id)
    if enrolment is None or enrolment.status == EnrolmentStatus.CANCELLED:
        raise NotFound(_("Inscription introuvable."))
    if session.starts_at <= utcnow():
        raise ValidationFailed.field("session", _("Cette session a déjà commencé."))
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.waitlist_position = None
    enrolment.cancelled_at = utcnow()
    db.session.flush()
    promoted = settle_seats(session.id)
    audit.record("training_enrolment_cancelled", target=enrolment, relais_id=enrolment.relais_id,
                 details={"session_id": session.id, "user_id": trainee.id,
                          "promoted": [enrolment_id for enrolment_id, _relais in promoted]})
    for enrolment_id, relais_id in promoted:
        # The promoted person may belong to another relais: tell them under their own scope.
        jobs.enqueue_after_commit(notify_promotion, enrolment_id, relais_id=relais_id)
    return promoted


def change_session(session_id: int, data: dict[str, Any]) -> TrainingSession:
    """National: change a session; more seats promote from the waiting list, a new date or
    place goes to everyone enrolled with an updated invitation (national scope open)."""
    lock_seats(session_id)
    session, moved = catalogue.update_session(session_id, data)
    promoted = settle_seats(session.id)
    for enrolment_id, relais_id in promoted:
        jobs.enqueue_after_commit(notify_promotion, enrolment_id, relais_id=relais_id)
    if moved:
        promoted_ids = {enrolment_id for enrolment_id, _relais in promoted}
        for enrolment in enrolments_of_session(session.id):
            if enrolment.status == EnrolmentStatus.ENROLLED and enrolment.id not in promoted_ids:
                jobs.enqueue_after_commit(notify_change, enrolment.id, relais_id=enrolment.relais_id)
    return catalogue.get_session(session.id)


def cancel_session(actor: User, session_id: int, reason: str | None) -> TrainingSession:
    """National: cancel a whole session before it starts (national scope open).

    Every enrolment and waiting-list place is cancelled; each person is told by a job under
    their own relais' scope, with a calendar cancellation of the invitation.
    """
    lock_seats(session_id)
    session = get_session(session_id)
    if session.cancelled:
        raise Conflict(_("Cette session est déjà annulée."))
    if session.signed_off_at is not None or session.starts_at <= utcnow():
        raise Conflict(_("Cette session a déjà commencé : elle ne peut plus être annulée."))
    now = utcnow()
    told = enrolments_of_session(session.id)
    for enrolment in told:
        enrolment.status, enrolment.waitlist_position = EnrolmentStatus.CANCELLED, None
        enrolment.cancelled_at = now
    session.cancelled_at, session.cancelled_by_id = now, actor.id
    session.cancel_reason = (reason or "").strip() or None
    db.session.flush()
    settle_seats(session.id)  # the counters drop to zero
    audit.record("training_session_cancelled", target=session,
                 details={"reason": session.cancel_reason, "enrolments": [e.id for e in told]})
    for enrolment in told:
        jobs.enqueue_after_commit(notify_session_cancelled, enrolment.id, relais_id=enrolment.relais_id)
    return get_session(session.id)


def calendar_for(enrolment: Enrolment, *, cancelled: bool = False) -> tuple[str, str, bytes]:
    session = enrolment.session
    link = public_link("training.session_detail", session_id=session.id)
    data = ics.session_event(
        session,
        uid=f"training-{session.id}-{enrolment.user_id}@relais-numerique",
        description=_("Formation Relais Numérique : %(title)s. %(link)s",
                      title=session.module.title, link=link),
        # Grows with every invitation sent, so a calendar takes the latest (changed) one; a
        # cancellation outranks even an invitation sent in the same second.
        sequence=max(0, int((utcnow() - session.created_at).total_seconds())) + int(cancelled),
        cancelled=cancelled,
    )
    return ("annulation.ics" if cancelled else "formation.ics", "text/calendar", data)


def send_enrolment_mail(enrolment: Enrolment) -> None:
    session, user = enrolment.session, enrolment.user
    link = public_link("training.session_detail", session_id=session.id)
    if enrolment.status == EnrolmentStatus.ENROLLED:
        mail.send_template(
            user.email, _("Inscription confirmée : %(title)s", title=session.module.title),
            "training/mail/enrolled.txt", attachments=[calendar_for(enrolment)],
            user=user, session=session, link=link,
        )
    else:
        mail.send_template(
            user.email, _("Liste d'attente : %(title)s", title=session.module.title),
            "training/mail/waitlisted.txt", user=user, session=session, link=link,
            position=enrolment.waitlist_position,
        )


def public_link(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail, also from a job (no request: url_for cannot build it)."""
    if has_request_context():
        return mail.external_url(endpoint, **values)
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def notify_change(enrolment_id: int) -> None:
    """Job (bound to the trainee's relais): the session's date or place changed."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.status != EnrolmentStatus.ENROLLED:
        return
    session, user = enrolment.session, enrolment.user
    mail.send_template(
        user.email, _("Changement : %(title)s", title=session.module.title),
        "training/mail/changed.txt", attachments=[calendar_for(enrolment)],
        user=user, session=session, link=public_link("training.session_detail", session_id=session.id),
    )


def notify_promotion(enrolment_id: int) -> None:
    """Job (bound to the trainee's relais): a seat freed up for someone on the waiting list."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.status != EnrolmentStatus.ENROLLED:
        return
    session, user = enrolment.session, enrolment.user
    mail.send_template(
        user.email, _("Une place s'est libérée : %(title)s", title=session.module.title),
        "training/mail/promoted.txt", attachments=[calendar_for(enrolment)],
        user=user, session=session, link=public_link("training.session_detail", session_id=session.id),
    )


def notify_session_cancelled(enrolment_id: int) -> None:
    """Job (bound to the trainee's relais): the whole session is cancelled."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or not enrolment.session.cancelled:
        return
    session, user = enrolment.session, enrolment.user
    mail.send_template(
        user.email, _("Formation annulée : %(title)s", title=session.module.title),
        "training/mail/session_cancelled.txt", attachments=[calendar_for(enrolment, cancelled=True)],
        user=user, session=session, link=public_link("training.index"),
    )


def enrolments_of_session(session_id: int) -> list[Enrolment]:
    """Enrolments visible in the current scope (a relais sees only its own people)."""
    return list(db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status != EnrolmentStatus.CANCELLED)
        .order_by(Enrolment.status, Enrolment.waitlist_position, Enrolment.id)
    ))


def enrolments_of_user(user_id: int) -> list[Enrolment]:
    return list(db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user_id,
                                Enrolment.status != EnrolmentStatus.CANCELLED)
        .join(TrainingSession).order_by(TrainingSession.starts_at)
    ))
