"""Demo data for training and coaching: the network's modules, two sessions, the coach's portfolio."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.audit.services import network_access
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.demo import RELAIS as DEMO_RELAIS
from relais_platform.tenants.models import Relais
from relais_platform.training import catalogue
from relais_platform.training.models import TrainingSession

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
