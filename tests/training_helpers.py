"""Shared set-up of the training and coaching tests."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from relais_platform.accounts.models import Role
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from tests.factories import bearer, make_relais, make_training_module, sign_in_cookie
from tests.factories import make_user as _make_user

CORE = ("M1", "M2", "M3")


def make_user(role: Role, relais=None):
    """A user without password (API access by Bearer token): hashing would slow every test down."""
    return _make_user(role, relais, password=None)  # type: ignore[arg-type]


def training_world(*, capacity: int = 2) -> SimpleNamespace:
    """Three core modules and one optional, a session, two relais with staff, national, coaches."""
    from tests.factories import make_training_session

    modules = {code: make_training_module(code) for code in CORE}
    modules["OPT"] = make_training_module("OPT", core=False)
    national = make_user(Role.NATIONAL)
    coach = make_user(Role.COACH)
    other_coach = make_user(Role.COACH)
    a = make_relais(name="Relais A")
    b = make_relais(name="Relais B")
    a.coach_id = coach.id
    db.session.commit()
    w = SimpleNamespace(
        modules=modules, relais_a=a.id, relais_b=b.id,
        national=national.id, coach=coach.id, other_coach=other_coach.id,
        admin_a=make_user(Role.RELAIS_ADMIN, a).id, worker_a=make_user(Role.RELAIS_WORKER, a).id,
        worker_a2=make_user(Role.RELAIS_WORKER, a).id, admin_b=make_user(Role.RELAIS_ADMIN, b).id,
        worker_b=make_user(Role.RELAIS_WORKER, b).id,
    )
    w.session = make_training_session(modules["M1"], capacity=capacity)
    from relais_platform.accounts.models import User

    w.h = {name: bearer(db.session.get(User, getattr(w, name)))
           for name in ("national", "coach", "other_coach", "admin_a", "worker_a", "worker_a2",
                        "admin_b", "worker_b")}
    w.now = utcnow()
    db.session.remove()
    return w


def run_jobs(app: Flask) -> None:
    with app.app_context():
        queues = list(app.extensions["rq_queues"].values())
        SimpleWorker(queues, connection=app.extensions["redis"]).work(burst=True)


def outbox(app: Flask) -> list:
    """Delivered messages (after running the queued jobs), oldest first."""
    run_jobs(app)
    folder = Path(app.config["MAIL_OUTBOX"])
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in sorted(folder.glob("*.eml"))]


def login_as(app: Flask, user_id: int) -> FlaskClient:
    """A browser signed in as the user (with the fingerprint flask-login's 'strong' mode checks)."""
    from relais_platform.accounts.models import User

    with app.app_context():
        session_id = db.session.get(User, user_id).get_id()
        db.session.remove()
    client = app.test_client()
    sign_in_cookie(app, client, session_id)
    return client
