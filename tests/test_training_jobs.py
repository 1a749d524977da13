"""The training and coaching jobs are scheduled, run through the worker, and send what they should."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from relais_platform import jobs
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.tenants.models import Relais
from tests.factories import make_training_session
from tests.training_helpers import outbox, training_world

TRAINING_JOBS = {
    "relais_platform.training.jobs.send_reminders",
    "relais_platform.training.jobs.send_follow_up_reminders",
    "relais_platform.training.jobs.send_weekly_digest",
}


@pytest.fixture
def w(app):
    with app.app_context():
        world = training_world()
        db.session.remove()
    return world


def _clear_outbox(app) -> None:
    outbox(app)
    for path in Path(app.config["MAIL_OUTBOX"]).glob("*.eml"):
        path.unlink()


def _local_today(app):
    return utcnow().astimezone(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def test_training_jobs_are_registered_with_the_worker_scheduler(app, monkeypatch):
    import relais_platform
    from relais_platform import worker

    registered: list[tuple] = []

    class FakeScheduler:
        def __init__(self, **kwargs):
            pass

        def register(self, func, queue, *, args, cron):
            registered.append((func, queue, args, cron))

        def start(self):
            pass

    monkeypatch.setattr(worker, "CronScheduler", FakeScheduler)
    monkeypatch.setattr(relais_platform, "create_app", lambda: app)
    worker._run_cron(app.config["REDIS_URL"])
    scheduled = {args[0]: cron for func, _queue, args, cron in registered if func is jobs.run_job}
    assert set(scheduled) >= TRAINING_JOBS
    assert scheduled["relais_platform.training.jobs.send_weekly_digest"].endswith("* * 1")  # Mondays
    for path in TRAINING_JOBS:
        assert callable(jobs._resolve(path))


def _log_steps(client, w, steps, who="coach", relais_id=None):
    response = client.post(f"/api/v1/relais/{relais_id or w.relais_a}/coaching-sessions",
                           json={"date": "2026-01-20", "kind": "phone", "next_steps": steps},
                           headers=w.h[who])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_follow_up_reminders_run_by_the_scheduler(client, app, w):
    """As the cron does: run_job with no relais and no arguments, the clock of the day."""
    tomorrow = (_local_today(app) + timedelta(days=1)).isoformat()
    later = (_local_today(app) + timedelta(days=5)).isoformat()
    with app.app_context():
        db.session.get(Relais, w.relais_b).coach_id = w.other_coach
        db.session.commit()
    logged = _log_steps(client, w, [{"text": "Envoyer le bon de commande", "due_date": tomorrow,
                                     "owner": "La référente"},
                                    {"text": "Déjà fait", "due_date": tomorrow},
                                    {"text": "Plus tard", "due_date": later}])
    client.patch(f"/api/v1/relais/{w.relais_a}/next-steps/{logged['next_steps'][1]['id']}",
                 json={"done": True}, headers=w.h["coach"])
    _log_steps(client, w, [{"text": "Étape de l'autre coach", "due_date": tomorrow}],
               who="other_coach", relais_id=w.relais_b)
    _clear_outbox(app)
    with app.app_context():
        jobs.enqueue("relais_platform.training.jobs.send_follow_up_reminders")
    messages = {m["To"]: m.get_body().get_content() for m in outbox(app)}
    assert len(messages) == 2
    with app.app_context():
        from relais_platform.accounts.models import User

        coach_mail = db.session.get(User, w.coach).email
        other_mail = db.session.get(User, w.other_coach).email
    body = messages[coach_mail]
    assert "Envoyer le bon de commande" in body and "La référente" in body
    assert "Déjà fait" not in body and "Plus tard" not in body and "autre coach" not in body
    assert f"/training/relais/{w.relais_a}" in body
    assert "Étape de l'autre coach" in messages[other_mail]


def test_follow_up_goes_to_the_relais_current_coach(client, app, w):
    tomorrow = (_local_today(app) + timedelta(days=1)).isoformat()
    _log_steps(client, w, [{"text": "Relancer la mairie", "due_date": tomorrow}])
    with app.app_context():
        db.session.get(Relais, w.relais_a).coach_id = w.other_coach
        db.session.commit()
    _clear_outbox(app)
    from relais_platform.training.jobs import send_follow_up_reminders

    with app.app_context():
        assert send_follow_up_reminders() == 1
        db.session.commit()
        from relais_platform.accounts.models import User

        other_mail = db.session.get(User, w.other_coach).email
    [message] = outbox(app)
    assert message["To"] == other_mail and "Relancer la mairie" in message.get_body().get_content()


def test_session_reminder_runs_through_the_worker(client, app, w):
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    start = datetime.combine(_local_today(app) + timedelta(days=1), time(10), tzinfo=zone)
    with app.app_context():
        session_id = make_training_session(w.modules["M2"], starts_at=start)
    assert client.post(f"/api/v1/training/sessions/{session_id}/enrollments", json={"user_id": w.worker_a},
                       headers=w.h["worker_a"]).status_code == 201
    _clear_outbox(app)
    with app.app_context():
        jobs.enqueue("relais_platform.training.jobs.send_reminders")
    [message] = outbox(app)
    assert message["Subject"].startswith("Rappel")


def test_follow_up_reminder_is_sent_once_when_the_job_runs_twice(client, app, w):
    tomorrow = (_local_today(app) + timedelta(days=1)).isoformat()
    _log_steps(client, w, [{"text": "Rappeler la mairie", "due_date": tomorrow}])
    _clear_outbox(app)
    with app.app_context():
        jobs.enqueue("relais_platform.training.jobs.send_follow_up_reminders")
        jobs.enqueue("relais_platform.training.jobs.send_follow_up_reminders")
    [message] = outbox(app)
    assert "Rappeler la mairie" in message.get_body().get_content()
    # A step logged after the first run is still reminded by a later run.
    _log_steps(client, w, [{"text": "Relancer le bailleur", "due_date": tomorrow}])
    _clear_outbox(app)
    with app.app_context():
        jobs.enqueue("relais_platform.training.jobs.send_follow_up_reminders")
    [late] = outbox(app)
    body = late.get_body().get_content()
    assert "Relancer le bailleur" in body and "Rappeler la mairie" not in body


def test_session_reminder_is_sent_once_when_the_job_runs_twice(client, app, w):
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    start = datetime.combine(_local_today(app) + timedelta(days=1), time(10), tzinfo=zone)
    with app.app_context():
        session_id = make_training_session(w.modules["M2"], starts_at=start)
    assert client.post(f"/api/v1/training/sessions/{session_id}/enrollments", json={"user_id": w.worker_a},
                       headers=w.h["worker_a"]).status_code == 201
    _clear_outbox(app)
    with app.app_context():
        jobs.enqueue("relais_platform.training.jobs.send_reminders")
        jobs.enqueue("relais_platform.training.jobs.send_reminders")
    [message] = outbox(app)
    assert message["Subject"].startswith("Rappel")
