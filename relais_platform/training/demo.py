"""Demo data for training and coaching: the network's modules; sessions held over the year
with their signed attendance sheets, and sessions to come with people enrolled; the coach's
portfolio and a year of coaching visits, some next steps still open past their date."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from relais_platform import mail
from relais_platform.accounts.models import Role, User
from relais_platform.audit.services import network_access
from relais_platform.extensions import db
from relais_platform.orm import clock_at, utcnow
from relais_platform.tenants.demo import RELAIS as DEMO_RELAIS
from relais_platform.tenants.demo import network_specs
from relais_platform.tenants.models import Relais, RelaisStatus
from relais_platform.training import attendance, catalogue, coaching, enrolments
from relais_platform.training.models import CoachingSession, TrainingSession

# Held over the year: module code, days ago, place, online link.
PAST_SESSIONS = [
    ("M1-INCLUSION", 300, "Emmaüs Connect Lyon, 7 rue de la Part-Dieu, 69003 Lyon", None),
    ("M2-ACCOMPAGNEMENT", 220, None, "https://visio.emmaus-connect.org/accompagnement"),
    ("M1-INCLUSION", 150, "Emmaüs Connect Marseille, 12 boulevard National, 13003 Marseille", None),
    ("M3-ATELIERS", 90, None, "https://visio.emmaus-connect.org/ateliers"),
    ("M2-ACCOMPAGNEMENT", 40, "Emmaüs Connect Bordeaux, 9 rue Bouquière, 33000 Bordeaux", None),
]
# The coach's year with a relais: days ago, kind, topics, next step agreed.
COACHING = [
    (320, "visit", "Lancement : public, locaux, premières commandes.", "Désigner un référent stock"),
    (200, "phone", "Point d'étape : distributions et ateliers.", "Planifier un cycle d'initiation"),
    (75, "video", "Rapports mensuels et parcours de formation.", "Envoyer les rapports de stock en retard"),
]
DEMO_SESSIONS = [
    # module code, days from today, place, online link, capacity
    ("M1-INCLUSION", 14, "Emmaüs Connect Bordeaux, 9 rue Bouquière, 33000 Bordeaux", None, 12),
    ("M3-ATELIERS", 28, None, "https://visio.emmaus-connect.org/ateliers", 20),
]


def load_training_demo() -> None:
    """Idempotent: modules by code, sessions only when the module has none to come."""
    network_access(None, reason="demo training catalogue")
    for spec in catalogue.NETWORK_MODULES:
        catalogue.save_module({**spec, "active": True})
    national = db.session.scalar(select(User).where(User.role == Role.NATIONAL).order_by(User.id))
    zone = ZoneInfo("Europe/Paris")
    for code, days, location, url, capacity in DEMO_SESSIONS:
        module = catalogue.module_by_code(code)
        assert module is not None and national is not None  # saved and created just above
        upcoming = db.session.scalar(select(TrainingSession.id).where(
            TrainingSession.module_id == module.id, TrainingSession.starts_at > utcnow()))
        if upcoming is None:
            start = datetime.combine(utcnow().date() + timedelta(days=days), time(9, 30), tzinfo=zone)
            catalogue.create_session(national, {
                "module_code": code, "starts_at": start, "ends_at": start + timedelta(hours=7),
                "capacity": capacity, "location": location, "online_url": url,
                "trainer": "Équipe formation Emmaüs Connect"})
    coach = db.session.scalar(select(User).where(User.role == Role.COACH).order_by(User.id))
    if coach is not None:
        sirets = [spec["siret"] for spec in DEMO_RELAIS]
        for relais in db.session.scalars(select(Relais).where(Relais.siret.in_(sirets))):
            relais.coach_id = coach.id
    db.session.flush()
    if national is not None and db.session.scalar(
            select(TrainingSession.id).where(TrainingSession.starts_at < utcnow()).limit(1)) is None:
        _past_sessions(national, zone)
        _enrol_upcoming(national)
    if coach is not None:
        _coaching_year(coach, zone)


def _trainees(relais_ids: list[int]) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.relais_id.in_(relais_ids), User.active.is_(True)).order_by(User.relais_id, User.id)))


def _demo_relais_ids() -> list[int]:
    sirets = [spec["siret"] for spec in network_specs()]
    return list(db.session.scalars(select(Relais.id).where(
        Relais.siret.in_(sirets), Relais.status == RelaisStatus.ACTIVE).order_by(Relais.id)))


def _past_sessions(national: User, zone: ZoneInfo) -> None:
    """Sessions held over the year: people enrolled beforehand, the sheet kept and signed."""
    relais_ids = _demo_relais_ids()
    today = utcnow().astimezone(zone).date()
    for n, (code, days_ago, location, url) in enumerate(PAST_SESSIONS):
        start = datetime.combine(today - timedelta(days=days_ago), time(9, 30), tzinfo=zone)
        trainees = _trainees(relais_ids[n::len(PAST_SESSIONS)])[:12]
        with mail.silenced(), clock_at(start - timedelta(days=21)):
            network_access(None, reason="demo training sessions")
            session = catalogue.create_session(national, {
                "module_code": code, "starts_at": start, "ends_at": start + timedelta(hours=7),
                "capacity": 14, "location": location, "online_url": url,
                "trainer": "Équipe formation Emmaüs Connect"})
            for trainee in trainees:
                enrolments.enrol(national, session.id, trainee.id)
        with mail.silenced(), clock_at(start + timedelta(hours=7, minutes=30)):
            for position, trainee in enumerate(trainees):
                attendance.mark_attendance(national, session.id, trainee.id, position % 6 != 5)
            attendance.sign_off(national, session.id)
        db.session.flush()


def _enrol_upcoming(national: User) -> None:
    """A few people from the printed relais and others in each session to come."""
    relais_ids = _demo_relais_ids()
    for n, session in enumerate(catalogue.list_sessions(upcoming_only=True)):
        for trainee in _trainees(relais_ids[n:n + 6])[:8]:
            enrolments.enrol(national, session.id, trainee.id)
    db.session.flush()


def _coaching_year(coach: User, zone: ZoneInfo) -> None:
    """Visits and calls over the year in the coach's portfolio (once per relais); the last
    next step of one relais in three still open past its date."""
    today = utcnow().astimezone(zone).date()
    for n, relais in enumerate(db.session.scalars(
            select(Relais).where(Relais.coach_id == coach.id).order_by(Relais.id))):
        network_access([relais.id], reason="demo coaching")
        if db.session.scalar(select(CoachingSession.id).where(CoachingSession.relais_id == relais.id)):
            continue
        for visit, (days_ago, kind, topics, step) in enumerate(COACHING):
            held_on = today - timedelta(days=days_ago + n % 9)
            due = held_on + timedelta(days=30)
            with clock_at(datetime.combine(held_on, time(15), tzinfo=zone)):
                session = coaching.create_coaching_session(coach, relais, {
                    "date": held_on.isoformat(), "kind": kind, "topics": topics,
                    "notes": "Équipe motivée ; prévoir un point sur le stock au prochain échange.",
                    "next_steps": [{"text": step, "due_date": due.isoformat(), "owner": relais.contact_name}],
                })
            if visit < len(COACHING) - 1 or n % 3:
                with clock_at(datetime.combine(due, time(12), tzinfo=zone)):
                    for next_step in session.next_steps:
                        coaching.set_next_step_done(coach, relais, next_step.id, True)
        db.session.flush()  # before the scope moves to the next relais
