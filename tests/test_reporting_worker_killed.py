"""A killed worker loses nothing (issue 11, §6), with real worker processes killed by SIGKILL.

The export job is held inside its run by a lock the test takes on a table the bilan reads
(after the job has committed `running 5 %`), the worker's process group is killed, and:
- a new worker retries the export and finishes it within two minutes of starting;
- when the retries are spent, RQ's own abandoned-job handling marks the export `failed`, and
  it can be started again (API and web button);
- an export whose job Redis no longer knows shows `failed`, never waits forever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import text

from relais_platform import jobs
from tests.conftest import ROOT
from tests.test_reporting_exports import URL, run_worker, world  # noqa: F401  (fixture)

WITHIN = 120  # seconds, from the moment a worker is available again


def _start_worker(app, log: Path) -> subprocess.Popen:
    """`flask worker` for the reports queue, as deployed, in its own process group."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "TOTP_ENCRYPTION_KEY": app.config["TOTP_ENCRYPTION_KEY"],
        "RELAIS_ENV": "test",
        "MAIL_OUTBOX": app.config["MAIL_OUTBOX"],
    }
    env.pop("MAIL_SERVER", None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--queues", "reports", "--no-scheduler"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)


def _kill_worker_and_horse(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and the work horse running the job (RQ puts the horse in a session
    of its own, so killing the worker's group alone would leave it running)."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    os.killpg(worker.pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child), signal.SIGKILL)
    worker.wait(15)


def _row(owner_engine, export_id: int):
    with owner_engine.connect() as conn:
        return conn.execute(text("SELECT status, progress, error FROM report_exports WHERE id = :i"),
                            {"i": export_id}).one()


def _wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    details = log.read_text()[-3000:] if log is not None and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{details}")


def _killed_mid_export(app, client, world, owner_engine, tmp_path, *, retries: int | None = None):  # noqa: F811
    """Request an export, let a real worker start it, SIGKILL the worker mid-run."""
    response = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.admin)
    assert response.status_code == 202
    export_id = response.get_json()["id"]
    with app.app_context():
        job = jobs.queue("reports").jobs[0]
        if retries is not None:
            job.retries_left = retries
            job.save()
    log = tmp_path / "worker.log"
    blocker = owner_engine.connect()
    transaction = blocker.begin()
    # The bilan reads distributions after the job committed `running 5 %`: it waits here.
    blocker.execute(text("LOCK TABLE distributions IN ACCESS EXCLUSIVE MODE"))
    worker = _start_worker(app, log)
    try:
        _wait_for(lambda: _row(owner_engine, export_id).status == "running", 60, "the job to start", log)
        with app.app_context():
            assert StartedJobRegistry("reports", connection=jobs.redis_connection()).get_job_ids()
        _kill_worker_and_horse(worker)
    finally:
        _stop(worker, signal.SIGKILL)
        transaction.rollback()
        blocker.close()
    # What the page showed forever before issue 11.
    assert _row(owner_engine, export_id).status == "running"
    return export_id, job.id, log


def test_a_killed_worker_s_export_is_retried_within_two_minutes(app, client, world, owner_engine,  # noqa: F811
                                                                 tmp_path):
    export_id, _job_id, log = _killed_mid_export(app, client, world, owner_engine, tmp_path)
    worker = _start_worker(app, log)
    started = time.monotonic()
    try:
        _wait_for(lambda: _row(owner_engine, export_id).status == "finished", WITHIN + 15,
                  "the retried export to finish", log)
        assert time.monotonic() - started < WITHIN
    finally:
        _stop(worker)
    status = client.get(f"/api/v1/reports/exports/{export_id}", headers=world.admin).get_json()
    assert status["status"] == "finished" and status["progress"] == 100 and status["download_url"]


def test_when_retries_are_spent_the_export_fails_and_can_be_restarted(app, client, world,  # noqa: F811
                                                                       owner_engine, tmp_path):
    export_id, job_id, _log = _killed_mid_export(app, client, world, owner_engine, tmp_path, retries=0)
    with app.app_context():
        # RQ's maintenance of a live worker, once the dead one's heartbeat has lapsed (the
        # other test waits for it in real time): the abandoned job has no retry left.
        started = StartedJobRegistry("reports", connection=jobs.redis_connection())
        started.cleanup(timestamp=time.time() + 3600)
        assert job_id in FailedJobRegistry("reports", connection=jobs.redis_connection()).get_job_ids()
    row = _row(owner_engine, export_id)
    assert (row.status, row.progress, row.error) == ("failed", 0, "AbandonedJobError")

    status_url = f"/api/v1/reports/exports/{export_id}"
    assert client.get(status_url, headers=world.admin).get_json()["status"] == "failed"
    # Only the requester may restart it, only once it failed.
    assert client.post(f"{status_url}/retry", headers=world.national).status_code == 404
    restarted = client.post(f"{status_url}/retry", headers=world.admin)
    assert restarted.status_code == 202, restarted.get_json()
    assert restarted.get_json()["status"] == "queued"
    assert restarted.headers["Location"] == status_url
    assert client.post(f"{status_url}/retry", headers=world.admin).status_code == 409
    run_worker(app)
    assert client.get(status_url, headers=world.admin).get_json()["status"] == "finished"


def test_the_web_page_offers_to_restart_a_failed_export(app, world, owner_engine):  # noqa: F811
    from relais_platform.accounts.models import Role, User
    from relais_platform.extensions import db
    from relais_platform.reporting.models import ExportStatus, ReportExport
    from relais_platform.tenancy import TenantScope, tenant_session
    from tests.factories import sign_in_cookie

    # `world` runs in the app context of the test (app_ctx).
    admin = db.session.scalars(db.select(User).where(User.relais_id == world.a,
                                                     User.role == Role.RELAIS_WORKER)).first()
    admin_id, session_id = admin.id, admin.get_id()
    with tenant_session(db.session, TenantScope(relais_id=world.a)):
        export = ReportExport(requested_by_id=admin_id, relais_id=world.a, year=world.y, format="csv",
                              scope={},
                              status=ExportStatus.FAILED, error="AbandonedJobError")
        db.session.add(export)
        db.session.commit()
        export_id = export.id
    browser = app.test_client()
    sign_in_cookie(app, browser, session_id)
    page = browser.get(f"/rapports/exports/{export_id}").get_data(as_text=True)
    assert "Relancer l&#39;export" in page or "Relancer l'export" in page
    done = browser.post(f"/rapports/exports/{export_id}/relancer")
    assert done.headers["Location"] == f"/rapports/exports/{export_id}"
    assert _row(owner_engine, export_id).status == "queued"
    run_worker(app)
    assert _row(owner_engine, export_id).status == "finished"


def test_an_export_whose_job_vanished_shows_failed(app, client, world, owner_engine):  # noqa: F811
    response = client.get(URL, query_string={"format": "csv", "year": world.y}, headers=world.admin)
    export_id = response.get_json()["id"]
    with app.app_context():
        job_id = jobs.queue("reports").jobs[0].id
        jobs.redis_connection().flushdb()  # Redis lost (no persistence), or the job expired
        assert not Job.exists(job_id, connection=jobs.redis_connection())
    status = client.get(response.headers["Location"], headers=world.admin).get_json()
    assert status["status"] == "failed"
    assert _row(owner_engine, export_id).status == "failed"
