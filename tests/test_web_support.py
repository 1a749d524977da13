"""Helpers for the web tests (no tests here).

Requests must not run inside a test's own app context: the request would share that
context's session, and with it the tenant scope bound by an earlier request. So data is
built in short-lived contexts (`build`), and objects come back detached with their columns
loaded; assertions on the database open a fresh context (`query`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from relais_platform import jobs, mail
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from tests.factories import make_relais, sign_in_cookie

T = TypeVar("T")


def build(app: Flask, factory: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a factory in its own app context; return its object detached, columns loaded."""
    with app.app_context():
        obj = factory(*args, **kwargs)
        db.session.refresh(obj)
        db.session.expunge(obj)
        db.session.remove()
    return obj


def make_signed_relais(**overrides: Any) -> Relais:
    """A relais whose terms are accepted, so that its admin is not sent to the terms page."""
    relais = make_relais(**overrides)
    relais.terms_accepted_at = utcnow()
    db.session.commit()
    return relais


def query(app: Flask, fn: Callable[[], T]) -> T:
    """Evaluate `fn` in a fresh, unbound app context (national view of relais and users).

    Objects it returns are detached with what was loaded.
    """
    with app.app_context():
        try:
            result = fn()
            db.session.expunge_all()
            return result
        finally:
            db.session.remove()


def login_as(app: Flask, user: Any) -> FlaskClient:
    """A client signed in as `user` (FlaskLoginClient alone fails 'strong' session protection)."""
    client = app.test_client()
    sign_in_cookie(app, client, user.get_id())
    return client


def deliver_mail(app: Flask) -> list[dict[str, Any]]:
    """Run the queued mail jobs, as a worker would, and return the outbox."""
    with app.app_context():
        SimpleWorker([jobs.queue("mail")], connection=jobs.redis_connection()).work(burst=True)
        return mail.read_outbox()


def outbox_files(app: Flask) -> list[Path]:
    return sorted(Path(app.config["MAIL_OUTBOX"]).glob("*.eml"))


def text(response: Any) -> str:
    return response.get_data(as_text=True)
