"""Enrolment: seats, waiting list moving up (also under concurrency), who may enrol whom, e-mails."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from relais_platform.extensions import db
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.training.models import Enrolment, TrainingSession
from tests.factories import make_training_session
from tests.training_helpers import outbox, run_jobs, training_world

URL = "/api/v1/training/sessions/{}/enrollments"


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world(capacity=2)
        db.session.remove()
    return world


def _enrol(client, w, who: str, user_id: int, session_id: int | None = None):
    return client.post(URL.format(session_id or w.session), json={"user_id": user_id}, headers=w.h[who])


def _statuses(app, session_id: int) -> dict[int, tuple[str, int | None]]:
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)):
        return {e.user_id: (e.status.value, e.waitlist_position) for e in db.session.scalars(
            select(Enrolment).where(Enrolment.session_id == session_id))}


def test_full_session_puts_people_on_a_waiting_list(client, w):
    assert _enrol(client, w, "worker_a", w.worker_a).get_json()["status"] == "enrolled"
    assert _enrol(client, w, "worker_b", w.worker_b).get_json()["status"] == "enrolled"
    third = _enrol(client, w, "worker_a2", w.worker_a2)
    assert third.status_code == 201
    assert third.get_json()["status"] == "waitlisted"
    assert third.get_json()["waitlist_position"] == 1
    fourth = _enrol(client, w, "admin_b", w.admin_b).get_json()
    assert (fourth["status"], fourth["waitlist_position"]) == ("waitlisted", 2)
    session = client.get(f"/api/v1/training/sessions/{w.session}", headers=w.h["worker_a"]).get_json()
    assert (session["enrolled_count"], session["waitlisted_count"], session["seats_left"]) == (2, 2, 0)


def test_enrolling_twice_is_a_conflict(client, w):
    assert _enrol(client, w, "worker_a", w.worker_a).status_code == 201
    assert _enrol(client, w, "worker_a", w.worker_a).status_code == 409


def test_cancellation_moves_the_waiting_list_up_across_relais(client, w):
    _enrol(client, w, "worker_a", w.worker_a)
    _enrol(client, w, "worker_a2", w.worker_a2)
    _enrol(client, w, "worker_b", w.worker_b)  # waitlisted 1, relais B
    _enrol(client, w, "admin_b", w.admin_b)  # waitlisted 2
    response = client.delete(f"{URL.format(w.session)}/{w.worker_a}", headers=w.h["worker_a"])
    assert response.status_code == 204
    statuses = _statuses(client.application, w.session)
    assert statuses[w.worker_a] == ("cancelled", None)
    assert statuses[w.worker_b] == ("enrolled", None)
    assert statuses[w.admin_b] == ("waitlisted", 1)
    # A waitlisted person leaving moves those behind up too.
    client.delete(f"{URL.format(w.session)}/{w.admin_b}", headers=w.h["admin_b"])
    assert _statuses(client.application, w.session)[w.admin_b] == ("cancelled", None)
    # The promoted person (another relais) hears about it, with the calendar invitation.
    messages = outbox(client.application)
    promoted = [m for m in messages if "place s'est libérée" in m["Subject"]]
    assert len(promoted) == 1
    assert [p.get_filename() for p in promoted[0].iter_attachments()] == ["formation.ics"]


def test_cancellation_by_body_on_the_collection(client, w):
    _enrol(client, w, "worker_a", w.worker_a)
    _enrol(client, w, "worker_a2", w.worker_a2)
    _enrol(client, w, "worker_b", w.worker_b)  # waitlisted
    url = URL.format(w.session)
    assert client.delete(url, json={"user_id": w.worker_a}, headers=w.h["worker_a2"]).status_code == 403
    assert client.delete(url, json={"user_id": w.worker_a}, headers=w.h["admin_b"]).status_code == 404
    assert client.delete(url, json={}, headers=w.h["admin_a"]).status_code == 422
    assert client.delete(url, json={"user_id": w.worker_a}, headers=w.h["admin_a"]).status_code == 204
    assert _statuses(client.application, w.session)[w.worker_b] == ("enrolled", None)


def test_cancelled_person_may_enrol_again_at_the_end_of_the_queue(client, w):
    _enrol(client, w, "worker_a", w.worker_a)
    _enrol(client, w, "worker_a2", w.worker_a2)
    _enrol(client, w, "worker_b", w.worker_b)
    client.delete(f"{URL.format(w.session)}/{w.worker_a}", headers=w.h["worker_a"])
    again = _enrol(client, w, "worker_a", w.worker_a).get_json()
    assert (again["status"], again["waitlist_position"]) == ("waitlisted", 1)


def test_unknown_enrolment_cannot_be_cancelled(client, w):
    response = client.delete(f"{URL.format(w.session)}/{w.worker_a}", headers=w.h["worker_a"])
    assert response.status_code == 404


def test_workers_enrol_only_themselves(client, w):
    assert _enrol(client, w, "worker_a", w.worker_a2).status_code == 403
    assert _enrol(client, w, "worker_a", w.worker_b).status_code == 404
    assert client.delete(f"{URL.format(w.session)}/{w.worker_a2}",
                         headers=w.h["worker_a"]).status_code == 403


def test_admins_enrol_their_staff_only(client, w):
    assert _enrol(client, w, "admin_a", w.worker_a).get_json()["status"] == "enrolled"
    assert _enrol(client, w, "admin_a", w.worker_b).status_code == 404
    assert _enrol(client, w, "admin_a", w.national).status_code == 404
    assert client.delete(f"{URL.format(w.session)}/{w.worker_a}", headers=w.h["admin_b"]).status_code == 404


def test_national_enrols_anyone_but_coaches_enrol_nobody(client, w):
    assert _enrol(client, w, "national", w.worker_b).status_code == 201
    assert _enrol(client, w, "national", w.coach).status_code == 422
    assert _enrol(client, w, "coach", w.worker_a).status_code == 403


def test_relais_staff_see_only_their_relais_enrolments(client, w):
    _enrol(client, w, "worker_a", w.worker_a)
    _enrol(client, w, "worker_b", w.worker_b)
    seen = client.get(URL.format(w.session), headers=w.h["admin_b"]).get_json()
    assert [e["user_id"] for e in seen] == [w.worker_b]
    everyone = client.get(URL.format(w.session), headers=w.h["national"]).get_json()
    assert {e["user_id"] for e in everyone} == {w.worker_a, w.worker_b}


def test_started_session_refuses_enrolment(client, w):
    with client.application.app_context():
        past = make_training_session(w.modules["M2"], starts_at=w.now - timedelta(hours=1))
    assert _enrol(client, w, "worker_a", w.worker_a, past).status_code == 422


def test_deactivated_staff_cannot_be_enrolled(client, w):
    from relais_platform.accounts.models import User

    with client.application.app_context():
        db.session.get(User, w.worker_a2).active = False
        db.session.commit()
    assert _enrol(client, w, "admin_a", w.worker_a2).status_code == 422


def test_enrolment_mail_carries_a_calendar_invitation(client, w):
    _enrol(client, w, "worker_a", w.worker_a)
    _enrol(client, w, "worker_a2", w.worker_a2)
    _enrol(client, w, "worker_b", w.worker_b)
    messages = outbox(client.application)
    confirmed = [m for m in messages if m["Subject"].startswith("Inscription confirmée")]
    waiting = [m for m in messages if m["Subject"].startswith("Liste d'attente")]
    assert len(confirmed) == 2 and len(waiting) == 1
    ics = next(confirmed[0].iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    body = ics.get_payload(decode=True)
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and b"BEGIN:VEVENT\r\n" in body
    assert "position 1" in waiting[0].get_body().get_content()
    assert not list(waiting[0].iter_attachments())


def _enrol_in_thread(app, session_id: int, user_id: int, results: list, barrier: threading.Barrier) -> None:
    from relais_platform.accounts.models import User
    from relais_platform.tenancy import bind_relais
    from relais_platform.training import enrolments

    with app.app_context():
        try:
            user = db.session.get(User, user_id)
            bind_relais(db.session, user.relais_id)
            barrier.wait()
            results.append(enrolments.enrol(user, session_id, user_id).status.value)
            db.session.commit()
        finally:
            db.session.remove()


def test_concurrent_enrolments_never_exceed_capacity(app, w):
    """Four people race for two seats: the session row lock serialises them."""
    people = [w.worker_a, w.worker_a2, w.worker_b, w.admin_b]
    results: list[str] = []
    barrier = threading.Barrier(len(people))
    threads = [threading.Thread(target=_enrol_in_thread, args=(app, w.session, uid, results, barrier))
               for uid in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    positions = sorted(p for status, p in _statuses(app, w.session).values() if status == "waitlisted")
    assert positions == [1, 2]


def _cancel_in_thread(app, session_id: int, user_id: int, barrier: threading.Barrier) -> None:
    from relais_platform.accounts.models import User
    from relais_platform.tenancy import bind_relais
    from relais_platform.training import enrolments

    with app.app_context():
        try:
            user = db.session.get(User, user_id)
            bind_relais(db.session, user.relais_id)
            barrier.wait()
            enrolments.cancel(user, session_id, user_id)
            db.session.commit()
        finally:
            db.session.remove()


def test_concurrent_cancellations_promote_each_waiting_person_once(client, app, w):
    _enrol(client, w, "worker_a", w.worker_a)
    _enrol(client, w, "worker_b", w.worker_b)
    _enrol(client, w, "worker_a2", w.worker_a2)  # waitlisted 1
    _enrol(client, w, "admin_b", w.admin_b)  # waitlisted 2
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_cancel_in_thread, args=(app, w.session, uid, barrier))
               for uid in (w.worker_a, w.worker_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = _statuses(app, w.session)
    assert statuses[w.worker_a2] == ("enrolled", None)
    assert statuses[w.admin_b] == ("enrolled", None)
    with app.app_context(), tenant_session(db.session, TenantScope(all_relais=True)):
        session = db.session.get(TrainingSession, w.session)
        assert (session.enrolled_count, session.waitlisted_count) == (2, 0)


def test_reminder_job_selects_tomorrows_sessions_once(client, app, w):
    from datetime import UTC, datetime

    from relais_platform.training.jobs import send_reminders

    today = datetime(2031, 5, 12, 9, tzinfo=UTC)
    with app.app_context():
        tomorrow = make_training_session(w.modules["M2"], starts_at=today + timedelta(days=1))
        later = make_training_session(w.modules["M3"], starts_at=today + timedelta(days=2))
    for session_id in (tomorrow, later):
        _enrol(client, w, "worker_a", w.worker_a, session_id)
    for message in outbox(app):  # the confirmations
        assert message["Subject"].startswith("Inscription confirmée")
    for path in Path(app.config["MAIL_OUTBOX"]).glob("*.eml"):
        path.unlink()
    with app.app_context():
        assert send_reminders(today="2031-05-12") == 1
        db.session.commit()
        assert send_reminders(today="2031-05-12") == 0
        db.session.commit()
    run_jobs(app)
    messages = outbox(app)
    assert len(messages) == 1 and messages[0]["Subject"].startswith("Rappel")
    assert next(messages[0].iter_attachments()).get_content_type() == "text/calendar"


def _clear_outbox(app) -> None:
    outbox(app)
    for path in Path(app.config["MAIL_OUTBOX"]).glob("*.eml"):
        path.unlink()


def test_national_changes_a_session(client, app, w):
    url = f"/api/v1/training/sessions/{w.session}"
    for who in ("worker_a", "admin_a", "worker_b"):
        _enrol(client, w, who, getattr(w, who))  # worker_a, admin_a enrolled; worker_b waits
    _clear_outbox(app)
    assert client.patch(url, json={"capacity": 3}, headers=w.h["coach"]).status_code == 403
    too_small = client.patch(url, json={"capacity": 1}, headers=w.h["national"])
    assert too_small.status_code == 409 and "2" in too_small.get_json()["message"]
    assert client.patch(url, json={"location": None, "online_url": None},
                        headers=w.h["national"]).status_code == 422
    assert client.patch(url, json={"starts_at": "2020-01-01T09:00:00+01:00"},
                        headers=w.h["national"]).status_code == 422
    # One more seat: the first person waiting moves up and is told, nobody else is.
    more = client.patch(url, json={"capacity": 3}, headers=w.h["national"])
    assert more.status_code == 200 and more.get_json()["seats_left"] == 0
    assert _statuses(app, w.session)[w.worker_b] == ("enrolled", None)
    assert [m["Subject"].startswith("Une place") for m in outbox(app)] == [True]
    _clear_outbox(app)
    # A new place: everyone enrolled gets the updated invitation.
    moved = client.patch(url, json={"location": "Salle du conseil, mairie de Gap"}, headers=w.h["national"])
    assert moved.status_code == 200 and moved.get_json()["location"] == "Salle du conseil, mairie de Gap"
    changes = outbox(app)
    assert len(changes) == 3 and all(m["Subject"].startswith("Changement") for m in changes)
    invitation = next(changes[0].iter_attachments()).get_content()
    invitation = invitation.decode() if isinstance(invitation, bytes) else invitation
    assert "mairie de Gap" in invitation.replace("\r\n ", "")
    # A started session does not change.
    with app.app_context():
        started = make_training_session(w.modules["M2"], starts_at=w.now - timedelta(hours=1))
    assert client.patch(f"/api/v1/training/sessions/{started}", json={"capacity": 5},
                        headers=w.h["national"]).status_code == 409
