"""Background jobs on a real Redis, run by a real RQ worker (SimpleWorker, burst mode)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from croniter import croniter
from flask import Flask
from rq import Retry, SimpleWorker
from rq.job import JobStatus
from sqlalchemy import func, select, text

from relais_platform import jobs
from relais_platform.accounts.models import ApiToken, Role, TokenPurpose, UserToken
from relais_platform.audit import services as audit
from relais_platform.domains import periodic_jobs
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from tests.factories import make_relais, make_user

# --- jobs used by the tests (resolved by dotted path, as in production) ---------------


def echo(value: str) -> str:
    return value


def audited_relais_ids() -> list[int | None]:
    """What the database lets this job read: raw SQL, so only row-level security filters."""
    rows = db.session.execute(text("SELECT DISTINCT relais_id FROM audit_log ORDER BY 1"))
    return [row[0] for row in rows]


def fail_once(key: str) -> str:
    """Fails on its first run, succeeds on the next (attempts are counted in Redis)."""
    if jobs.redis_connection().incr(key) == 1:
        raise RuntimeError("temporary failure")
    return "done"


def always_fail() -> None:
    raise RuntimeError("permanent failure")


# --- helpers ---------------------------------------------------------------------------


def run_worker(app: Flask, queue_name: str = "default") -> None:
    """Drain a queue in a fresh app context, as a worker process would (its own session)."""
    with app.app_context():
        worker = SimpleWorker([jobs.queue(queue_name)], connection=jobs.redis_connection())
        worker.work(burst=True)


def queued(queue_name: str = "default") -> int:
    return jobs.queue(queue_name).count


# --- enqueue after commit --------------------------------------------------------------


def test_job_is_queued_only_when_the_transaction_commits(app, app_ctx):
    make_relais()  # some work in the unit of work
    db.session.execute(text("SELECT 1"))
    jobs.enqueue_after_commit(echo, "hello")
    assert queued() == 0

    db.session.commit()
    assert queued() == 1
    job = jobs.queue().jobs[0]
    run_worker(app)

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "hello"


def test_job_is_dropped_when_the_transaction_rolls_back(app_ctx):
    db.session.execute(text("SELECT 1"))
    jobs.enqueue_after_commit(echo, "never")
    db.session.rollback()
    db.session.commit()  # a later commit must not resurrect it
    assert queued() == 0


def test_job_of_a_unit_of_work_without_sql_leaves_on_commit(app_ctx):
    jobs.enqueue_after_commit(echo, "no sql", queue_name="mail")
    db.session.commit()
    assert queued("mail") == 1


# --- tenant binding --------------------------------------------------------------------


def test_job_sees_only_the_relais_it_was_given(app, app_ctx):
    relais_a, relais_b = make_relais(), make_relais()
    audit.record("test_event", relais_id=relais_a.id)
    audit.record("test_event", relais_id=relais_b.id)
    audit.record("national_event")
    db.session.commit()
    ids = relais_a.id, relais_b.id
    bound_a = jobs.enqueue(audited_relais_ids, relais_id=ids[0])
    bound_b = jobs.enqueue(audited_relais_ids, relais_id=ids[1])
    unbound = jobs.enqueue(audited_relais_ids)

    run_worker(app)

    assert bound_a.return_value() == [ids[0]]
    assert bound_b.return_value() == [ids[1]]
    assert unbound.return_value() == []  # no relais bound: no tenant row at all


# --- failures and retries --------------------------------------------------------------


def test_failed_job_is_retried_and_then_succeeds(app, app_ctx, caplog):
    caplog.set_level(logging.ERROR, logger="relais_platform.jobs")
    job = jobs.enqueue(fail_once, "attempts:fail_once", retry=Retry(max=3))

    run_worker(app)  # burst: the immediate retry is picked up in the same run

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "done"
    assert job.retries_left == 2
    assert int(jobs.redis_connection().get("attempts:fail_once")) == 2
    failures = [r for r in caplog.records if r.name == "relais_platform.jobs"]
    assert len(failures) == 1
    assert "tests.test_jobs.fail_once" in failures[0].getMessage()
    assert failures[0].exc_info and "temporary failure" in str(failures[0].exc_info[1])


def test_failed_job_with_backoff_is_scheduled_for_later(app, app_ctx, caplog):
    caplog.set_level(logging.ERROR, logger="relais_platform.jobs")
    job = jobs.enqueue(always_fail, retry=Retry(max=3, interval=[60, 300]))

    run_worker(app)

    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 2
    assert job.id in jobs.queue().scheduled_job_registry.get_job_ids()
    assert any("always_fail" in r.getMessage() for r in caplog.records)


def test_failed_job_without_retries_fails(app, app_ctx):
    job = jobs.enqueue(always_fail)
    run_worker(app)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "permanent failure" in job.latest_result().exc_string


# --- periodic jobs ---------------------------------------------------------------------


@pytest.mark.parametrize("periodic", periodic_jobs(), ids=lambda p: p.func)
def test_periodic_jobs_resolve_and_have_valid_schedules(periodic, app):
    assert callable(jobs._resolve(periodic.func))
    assert croniter.is_valid(periodic.cron)
    assert periodic.queue in app.config["RQ_QUEUES"]


def test_purge_expired_tokens_forgets_only_old_tokens(app, app_ctx):
    user = make_user(Role.RELAIS_ADMIN, make_relais())
    long_ago, soon = utcnow() - timedelta(days=40), utcnow() + timedelta(days=1)
    tokens = [
        UserToken(purpose=TokenPurpose.INVITATION, expires_at=long_ago),  # expired long ago
        UserToken(purpose=TokenPurpose.PASSWORD_RESET, expires_at=soon, used_at=long_ago),
        UserToken(purpose=TokenPurpose.PASSWORD_RESET, expires_at=utcnow() - timedelta(days=1)),
        UserToken(purpose=TokenPurpose.INVITATION, expires_at=soon),  # still usable
        ApiToken(expires_at=long_ago),
        ApiToken(expires_at=soon, revoked_at=long_ago),
        ApiToken(expires_at=soon),
    ]
    for n, token in enumerate(tokens):
        token.user_id = user.id
        token.token_hash = f"{n:064d}"
        db.session.add(token)
    db.session.commit()
    job = jobs.enqueue("relais_platform.accounts.jobs.purge_expired_tokens")

    run_worker(app)

    assert job.return_value() == 4
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(UserToken)) == 2
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
