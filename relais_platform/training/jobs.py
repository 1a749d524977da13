"""Scheduled jobs (see jobs.PERIODIC): session reminders and next-step follow-ups (daily), the
coaches' weekly digest."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from relais_platform import mail
from relais_platform.accounts.models import Role, User
from relais_platform.audit.services import network_access
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from relais_platform.training.coaching import open_next_steps
from relais_platform.training.enrolments import calendar_for, public_link
from relais_platform.training.models import (
    CoachingSession,
    Enrolment,
    EnrolmentStatus,
    NextStep,
    TrainingSession,
)
from relais_platform.training.progress import overview

DIGEST_HORIZON_DAYS = 7


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day in the network's time zone (Europe/Paris), as aware datetimes."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def sessions_on(day: date) -> list[TrainingSession]:
    start, end = _local_day_bounds(day)
    return list(db.session.scalars(
        select(TrainingSession).where(TrainingSession.starts_at >= start, TrainingSession.starts_at < end)
        .order_by(TrainingSession.starts_at)
    ))


def _local_today(today: str | None) -> date:
    if today:
        return date.fromisoformat(today)
    return utcnow().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def send_reminders(today: str | None = None) -> int:
    """Daily: remind everyone enrolled in a session starting tomorrow, once. Returns the count."""
    day = _local_today(today)
    network_access(None, reason="training session reminders")
    tomorrow = day + timedelta(days=1)
    start, end = _local_day_bounds(tomorrow)
    enrolments = db.session.scalars(
        select(Enrolment).join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(TrainingSession.starts_at >= start, TrainingSession.starts_at < end,
               TrainingSession.cancelled_at.is_(None),
               Enrolment.status == EnrolmentStatus.ENROLLED, Enrolment.reminded_at.is_(None))
        .order_by(Enrolment.id)
    ).all()
    for enrolment in enrolments:
        session = enrolment.session
        mail.send_template(
            enrolment.user.email, _("Rappel : formation demain — %(title)s", title=session.module.title),
            "training/mail/reminder.txt", attachments=[calendar_for(enrolment)],
            user=enrolment.user, session=session,
            link=public_link("training.session_detail", session_id=session.id),
        )
        enrolment.reminded_at = utcnow()
    return len(enrolments)


def send_weekly_digest(now: str | None = None) -> int:
    """Weekly: each active coach gets its portfolio's alerts and next steps. Returns mails sent."""
    moment = datetime.fromisoformat(now) if now else utcnow()
    network_access(None, reason="weekly coaching digest")
    coaches = {c.id: c for c in db.session.scalars(
        select(User).where(User.role == Role.COACH, User.active.is_(True)))}
    if not coaches:
        return 0
    rows = overview(select(Relais).where(Relais.coach_id.in_(list(coaches)))
                    .order_by(Relais.name, Relais.id), moment)
    steps = open_next_steps([r.relais.id for r in rows])
    horizon = moment.date() + timedelta(days=DIGEST_HORIZON_DAYS)
    portfolios: dict[int, list] = {}
    for row in rows:
        if row.relais.coach_id is None:  # selected by coach: never
            continue
        due = [s for s in steps.get(row.relais.id, []) if s.due_date and s.due_date <= horizon]
        portfolios.setdefault(row.relais.coach_id, []).append((row, due))
    for coach_id, entries in portfolios.items():
        coach = coaches[coach_id]
        mail.send_template(
            coach.email, _("Votre portefeuille cette semaine"), "training/mail/digest.txt",
            coach=coach, entries=entries, today=moment.date(), link=public_link("training.coach_dashboard"),
        )
    return len(portfolios)


def send_follow_up_reminders(today: str | None = None) -> int:
    """Daily: each coach hears of the open next steps of its relais falling due tomorrow, once.

    The step goes to the relais' coach of the day (the portfolio may have changed hands since
    the session), or to the coach who logged it when the relais has none. Returns mails sent.
    """
    tomorrow = _local_today(today) + timedelta(days=1)
    network_access(None, reason="coaching follow-up reminders")
    rows = db.session.execute(
        select(NextStep, Relais, func.coalesce(Relais.coach_id, CoachingSession.coach_id))
        .join(CoachingSession, CoachingSession.id == NextStep.coaching_session_id)
        .join(Relais, Relais.id == NextStep.relais_id)
        .where(NextStep.done_at.is_(None), NextStep.due_date == tomorrow,
               NextStep.reminded_at.is_(None))
        .order_by(Relais.name, NextStep.id)
    ).all()
    coaches = {c.id: c for c in db.session.scalars(
        select(User).where(User.id.in_({row[2] for row in rows}),
                           User.role == Role.COACH, User.active.is_(True)))}
    by_coach: dict[int, list[tuple[NextStep, Relais]]] = {}
    for step, relais, coach_id in rows:
        if coach_id in coaches:
            by_coach.setdefault(coach_id, []).append((step, relais))
    for coach_id, steps in by_coach.items():
        coach = coaches[coach_id]
        mail.send_template(
            coach.email, _("Étapes à suivre demain"), "training/mail/follow_up.txt",
            coach=coach, steps=steps, day=tomorrow,
            links={relais.id: public_link("training.relais_progress", relais_id=relais.id)
                   for _step, relais in steps},
        )
        for step, _relais in steps:
            step.reminded_at = utcnow()
    return len(by_coach)
