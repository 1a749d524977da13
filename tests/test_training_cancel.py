"""The national team cancels a whole session: who may, when, who is told, what it stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from relais_platform.audit.models import AuditEntry
from relais_platform.extensions import db
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.training.models import Enrolment, TrainingSession
from tests.factories import make_training_session
from tests.training_helpers import login_as, outbox, training_world

ENROL = "/api/v1/training/sessions/{}/enrollments"
CANCEL = "/api/v1/training/sessions/{}/cancel"


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world(capacity=1)
        db.session.remove()
    return world


def _clear_outbox(app) -> None:
    outbox(app)
    for path in Path(app.config["MAIL_OUTBOX"]).glob("*.eml"):
        path.unlink()


def _enrol(client, w, who: str, session_id: int | None = None):
    return client.post(ENROL.format(session_id or w.session), json={"user_id": getattr(w, who)},
                       headers=w.h[who])


def _ics_text(message) -> str:
    content = next(message.iter_attachments()).get_content()
    return (content.decode() if isinstance(content, bytes) else content).replace("\r\n ", "")


def _field(calendar: str, name: str) -> str:
    return next(line.split(":", 1)[1] for line in calendar.split("\r\n") if line.startswith(f"{name}:"))


def test_national_cancels_a_session_and_everyone_is_told(client, app, w):
    assert _enrol(client, w, "worker_a").get_json()["status"] == "enrolled"
    assert _enrol(client, w, "worker_b").get_json()["status"] == "waitlisted"  # another relais
    invitation = _ics_text(next(m for m in outbox(app) if m["Subject"].startswith("Inscription")))
    _clear_outbox(app)

    response = client.post(CANCEL.format(w.session), json={"reason": "Formateur malade"},
                           headers=w.h["national"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["cancelled_at"] and body["cancel_reason"] == "Formateur malade"
    assert (body["enrolled_count"], body["waitlisted_count"]) == (0, 0)

    messages = outbox(app)
    assert len(messages) == 2 and all(m["Subject"].startswith("Formation annulée") for m in messages)
    assert all("Formateur malade" in m.get_body().get_content() for m in messages)
    with app.app_context():
        from relais_platform.accounts.models import User

        worker_mail = db.session.get(User, w.worker_a).email
    cancellation = _ics_text(next(m for m in messages if m["To"] == worker_mail))
    assert "METHOD:CANCEL" in cancellation and "STATUS:CANCELLED" in cancellation
    assert _field(cancellation, "UID") == _field(invitation, "UID")
    assert int(_field(cancellation, "SEQUENCE")) > int(_field(invitation, "SEQUENCE"))

    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)):
        statuses = {e.user_id: e.status.value for e in db.session.scalars(
            select(Enrolment).where(Enrolment.session_id == w.session))}
        assert statuses == {w.worker_a: "cancelled", w.worker_b: "cancelled"}
        [entry] = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "training_session_cancelled", AuditEntry.target_id == w.session))
        assert entry.actor_id == w.national and entry.details["reason"] == "Formateur malade"
        assert len(entry.details["enrolments"]) == 2


def test_cancelled_session_takes_no_enrolment_and_is_no_longer_open(client, w):
    assert client.post(CANCEL.format(w.session), json={}, headers=w.h["national"]).status_code == 200
    refused = _enrol(client, w, "worker_a")
    assert refused.status_code == 409 and "annulée" in refused.get_json()["message"]
    listed = client.get("/api/v1/training/sessions?upcoming=true", headers=w.h["worker_a"]).get_json()
    assert w.session not in [s["id"] for s in listed]
    everything = client.get("/api/v1/training/sessions", headers=w.h["worker_a"]).get_json()
    assert next(s for s in everything if s["id"] == w.session)["cancel_reason"] is None
    assert client.patch(f"/api/v1/training/sessions/{w.session}", json={"capacity": 5},
                        headers=w.h["national"]).status_code == 409


def test_only_the_national_team_cancels_once_and_before_the_start(client, app, w):
    for who in ("coach", "admin_a", "worker_a"):
        assert client.post(CANCEL.format(w.session), json={}, headers=w.h[who]).status_code == 403
    assert client.post(CANCEL.format(999_999), json={}, headers=w.h["national"]).status_code == 404
    assert client.post(CANCEL.format(w.session), json={"reason": "x" * 2001},
                       headers=w.h["national"]).status_code == 422
    with app.app_context():
        assert db.session.get(TrainingSession, w.session).cancelled_at is None  # no partial write
        started = make_training_session(w.modules["M2"], starts_at=w.now - timedelta(hours=1))
    assert client.post(CANCEL.format(started), json={}, headers=w.h["national"]).status_code == 409
    assert client.post(CANCEL.format(w.session), json={}, headers=w.h["national"]).status_code == 200
    again = client.post(CANCEL.format(w.session), json={}, headers=w.h["national"])
    assert again.status_code == 409 and "déjà annulée" in again.get_json()["message"]


def test_a_cancelled_session_sends_no_reminder(client, app, w):
    from relais_platform.training.jobs import send_reminders

    today = datetime(2031, 5, 12, 9, tzinfo=UTC)
    with app.app_context():
        tomorrow = make_training_session(w.modules["M2"], starts_at=today + timedelta(days=1))
    _enrol(client, w, "worker_a", tomorrow)
    assert client.post(CANCEL.format(tomorrow), json={}, headers=w.h["national"]).status_code == 200
    _clear_outbox(app)
    with app.app_context():
        assert send_reminders(today="2031-05-12") == 0
        db.session.commit()
    assert outbox(app) == []


def test_national_cancels_on_the_session_page_with_a_confirmation(app, w):
    web = login_as(app, w.national)
    url = f"/training/sessions/{w.session}/cancel-session"
    html = web.get(f"/training/sessions/{w.session}").get_data(as_text=True)
    assert f'action="{url}"' in html and "data-confirm=" in html
    refused = web.post(url, data={"reason": "x" * 2001})
    assert refused.status_code == 422 and f'action="{url}"' in refused.get_data(as_text=True)
    assert web.post(url, data={"reason": "Salle indisponible"}).status_code == 302
    page = web.get(f"/training/sessions/{w.session}").get_data(as_text=True)
    assert "Session annulée" in page and "Salle indisponible" in page and f'action="{url}"' not in page
    worker_page = login_as(app, w.worker_a).get(f"/training/sessions/{w.session}").get_data(as_text=True)
    assert "Session annulée" in worker_page and "M&#39;inscrire" not in worker_page
    assert "M'inscrire" not in worker_page
    assert login_as(app, w.coach).post(url, data={}).status_code == 403


def test_an_enrolment_racing_a_cancellation_is_refused(app, w):
    """The enrolment reads the session, then waits on the seat lock the cancellation holds."""
    import threading
    import time

    from relais_platform.accounts.models import User
    from relais_platform.domain import Conflict
    from relais_platform.tenancy import bind_relais, open_network_scope
    from relais_platform.training import enrolments

    locked, results = threading.Event(), []

    def cancel_slowly() -> None:
        with app.app_context():
            try:
                open_network_scope(db.session, None)
                enrolments.lock_seats(w.session)
                locked.set()
                time.sleep(0.5)  # the enrolment has read the session and waits on the lock
                enrolments.cancel_session(db.session.get(User, w.national), w.session, None)
                db.session.commit()
            finally:
                db.session.remove()

    def enrol() -> None:
        with app.app_context():
            try:
                user = db.session.get(User, w.worker_a)
                bind_relais(db.session, user.relais_id)
                locked.wait()
                results.append(enrolments.enrol(user, w.session, user.id).status.value)
                db.session.commit()
            except Conflict as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=cancel_slowly), threading.Thread(target=enrol)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["Cette session est annulée : elle ne prend plus d'inscriptions."]
